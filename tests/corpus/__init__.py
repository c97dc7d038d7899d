"""A corpus of bad and unusual inputs and situations, made by code at test time.

:mod:`corpus.makers` writes the files (no binary is committed); :mod:`corpus.test_corpus`
runs the real ``alphacut`` command on them in subprocesses and checks each outcome.
"""
