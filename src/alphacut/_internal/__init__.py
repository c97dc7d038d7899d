"""Helpers shared by the methods and the refinement; not part of the public API.

``imageops`` holds small array helpers (8-bit conversion, per-pixel dot products, boxes,
resizing); ``guided`` the guided filter the methods use to upsample a coarse answer
along the photo's own edges; ``errors`` how an error is told (its first line, its
traceback when debugging), for the batch and the front ends alike.
"""
