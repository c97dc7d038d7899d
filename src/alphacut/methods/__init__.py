"""The methods that estimate an alpha matte from a photo: one module each.

- :mod:`alphacut.methods.chroma`: green/blue-screen keying.
- :mod:`alphacut.methods.grabcut`: OpenCV GrabCut from a rectangle and/or hints.
- :mod:`alphacut.methods.neural`: a segmentation network through ONNX Runtime.
"""
