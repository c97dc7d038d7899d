"""GrabCut's graph cut by PyMaxflow against OpenCV's own cut of the same energy."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy.stats import multivariate_normal
from skimage import data

from alphacut.methods.grabcut_graph import GrabCutGraph, mixture_cost

UNDECIDED = (cv2.GC_PR_BGD, cv2.GC_PR_FGD)


@pytest.fixture(scope="module")
def astronaut():
    """A real photo at GrabCut's working size, BGR, with a box around the astronaut."""
    photo = cv2.resize(data.astronaut(), (256, 256), interpolation=cv2.INTER_AREA)[..., ::-1]
    labels = np.full((256, 256), cv2.GC_BGD, np.uint8)
    labels[20:250, 30:200] = cv2.GC_PR_FGD
    return np.ascontiguousarray(photo), labels


def fitted(photo, labels, iterations=0):
    """OpenCV's mixtures for ``labels`` (k-means start, then ``iterations`` of its own)."""
    cv2.setRNGSeed(0)
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    work = labels.copy()
    cv2.grabCut(photo, work, None, bgd, fgd, 0, cv2.GC_INIT_WITH_MASK)
    if iterations:
        cv2.grabCut(photo, work, None, bgd, fgd, iterations, cv2.GC_EVAL)
    return work, bgd, fgd


def opencv_cut(photo, labels, bgd, fgd):
    out = labels.copy()
    cv2.grabCut(photo, out, None, bgd.copy(), fgd.copy(), 1, cv2.GC_EVAL_FREEZE_MODEL)
    return out


def test_mixture_cost_is_the_mixtures_negative_log_density():
    rng = np.random.default_rng(1)
    weights = np.array([0.5, 0.3, 0.2, 0.0, 0.0])
    means = rng.uniform(0, 255, (5, 3))
    covariances = []
    for _ in range(5):
        a = rng.normal(0, 10, (3, 3))
        covariances.append(a @ a.T + 5 * np.eye(3))
    model = np.concatenate([weights, means.ravel(), np.ravel(covariances)])[None]
    pixels = rng.uniform(0, 255, (200, 3))
    density = sum(
        w * multivariate_normal(m, c).pdf(pixels)
        for w, m, c in zip(weights[:3], means[:3], covariances[:3], strict=True)
    )
    # OpenCV leaves out the density's (2 pi)^(3/2).
    expected = -np.log(density * (2 * np.pi) ** 1.5)
    assert np.allclose(mixture_cost(pixels, model), expected, rtol=1e-9)


def test_a_colour_no_component_explains_gets_a_finite_cost():
    model = np.zeros((1, 65))
    model[0, 0] = 1.0
    model[0, 20:29] = np.eye(3).ravel()
    cost = mixture_cost(np.array([[255.0, 255, 255]]), model)
    assert np.isfinite(cost).all() and cost[0] > 700


def test_cut_matches_opencvs_cut_of_the_same_energy(astronaut):
    photo, box = astronaut
    labels, bgd, fgd = fitted(photo, box, iterations=1)
    expected = opencv_cut(photo, labels, bgd, fgd)
    ours = labels.copy()
    GrabCutGraph(photo).cut(ours, bgd, fgd)
    undecided = np.isin(labels, UNDECIDED)
    # Whole-number capacities move a few pixels whose two sides nearly tie.
    assert np.mean(ours[undecided] != expected[undecided]) < 0.005
    assert (ours[~undecided] == labels[~undecided]).all()
    foreground = ours == cv2.GC_PR_FGD
    assert 0.2 < foreground[undecided.nonzero()].mean() < 0.9


def test_a_cut_from_the_previous_flow_equals_a_cut_from_scratch(astronaut):
    photo, box = astronaut
    labels, bgd, fgd = fitted(photo, box)
    graph = GrabCutGraph(photo)
    graph.cut(labels, bgd, fgd)
    # Refitted mixtures, as GrabCut's next iteration has them.
    _, bgd_next, fgd_next = fitted(photo, labels)
    again = labels.copy()
    graph.cut(again, bgd_next, fgd_next)
    fresh = labels.copy()
    GrabCutGraph(photo).cut(fresh, bgd_next, fgd_next)
    assert (again == fresh).all()
    assert (again != labels).any()  # the refit did move the answer


def test_definite_labels_decide_a_photo_without_undecided_pixels():
    photo = np.random.default_rng(0).integers(0, 255, (40, 50, 3)).astype(np.uint8)
    labels = np.full((40, 50), cv2.GC_BGD, np.uint8)
    labels[10:30, 10:40] = cv2.GC_FGD
    model = np.zeros((1, 65))
    model[0, 0] = 1.0
    model[0, 20:29] = (100 * np.eye(3)).ravel()
    before = labels.copy()
    GrabCutGraph(photo).cut(labels, model, model)
    assert (labels == before).all()


def test_a_cut_with_the_same_mixtures_again_keeps_the_answer(astronaut):
    photo, box = astronaut
    labels, bgd, fgd = fitted(photo, box)
    graph = GrabCutGraph(photo)
    graph.cut(labels, bgd, fgd)
    again = labels.copy()
    graph.cut(again, bgd, fgd)  # nothing changed: no node to revisit
    assert (again == labels).all()
