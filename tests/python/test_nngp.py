"""kernelmc.nngp and kernelmc.prior_moments against independent numpy routes: the closed-form
NNGP recursions of THEORY.md section 2 (erf: arcsine kernel; ReLU: arc-cosine kernel; linear),
a 2-D Gauss-Hermite rule for tanh, and Isserlis' theorem for the exact covariance of the first
hidden layer's kernel (Sigma^(2) is exact at any N, THEORY.md section 3.4)."""
import math

import numpy as np
import pytest

import kernelmc


def inputs(P=5, d=3, seed=1):
    return np.random.default_rng(seed).normal(size=(P, d))


def input_kernel(X, g1, bias_variance):
    return g1 / X.shape[1] * X @ X.T + bias_variance


def erf_step(C):
    d = np.sqrt(1.0 + 2.0 * np.diag(C))
    return 2.0 / math.pi * np.arcsin(2.0 * C / np.outer(d, d))


def relu_step(C):
    s = np.sqrt(np.diag(C))
    cos = np.clip(C / np.outer(s, s), -1.0, 1.0)
    theta = np.arccos(cos)
    return np.outer(s, s) * (np.sin(theta) + (math.pi - theta) * cos) / (2.0 * math.pi)


def tanh_step(C, nodes=320):
    """<tanh(u) tanh(v)> for (u, v) ~ N(0, [[C_aa, C_ab], [C_ab, C_bb]]) by a 2-D probabilists'
    Gauss-Hermite rule on the Cholesky factor. tanh's poles at i*pi/2 slow the rule down at
    C_aa ~ 3: measured against the library, 80 nodes differ by 7e-6, 160 by 1.4e-8, 320 by 4e-12."""
    z, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / w.sum()
    P = C.shape[0]
    out = np.empty_like(C)
    for a in range(P):
        for b in range(P):
            caa, cab, cbb = C[a, a], C[a, b], C[b, b]
            l11 = math.sqrt(caa)
            l21 = cab / l11
            l22 = math.sqrt(max(cbb - l21 * l21, 0.0))
            u = l11 * z[:, None]
            v = l21 * z[:, None] + l22 * z[None, :]
            out[a, b] = np.sum(w[:, None] * w[None, :] * np.tanh(u) * np.tanh(v))
    return out


def numpy_nngp(X, step, g, bias_variance, depth):
    g = np.broadcast_to(np.asarray(g, dtype=float), (depth + 1,))
    kernels = [input_kernel(X, g[0], bias_variance)]
    for l in range(2, depth + 2):
        kernels.append(bias_variance + g[l - 1] * step(kernels[-1]))
    return np.array(kernels)


@pytest.mark.parametrize("activation,step", [("erf", erf_step), ("relu", relu_step), ("linear", lambda C: C)])
def test_nngp_equals_the_closed_form_recursion(activation, step):
    X = inputs()
    got = kernelmc.nngp(X, activation=activation, g=1.3, bias_variance=0.1, depth=3)
    want = numpy_nngp(X, step, 1.3, 0.1, 3)
    assert got.shape == (4, 5, 5)
    # Closed forms on both sides: only rounding differs.
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)


def test_nngp_tanh_equals_numpy_quadrature_with_one_g_per_layer():
    X = inputs(P=4, d=2, seed=2)
    g = [1.0, 1.5, 0.8]
    got = kernelmc.nngp(X, activation="tanh", g=g, bias_variance=0.05, depth=2)
    want = numpy_nngp(X, tanh_step, g, 0.05, 2)
    # The library's rule targets 1e-10 absolute per layer (theory.quadrature_tolerance), numpy's
    # 320-node rule is closer still; two layers of propagation stay below 1e-9.
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)


def test_nngp_defaults_are_the_config_defaults_and_input_order_does_not_matter():
    X = inputs()
    default = kernelmc.nngp(X)
    explicit = kernelmc.nngp(X, activation="erf", g=math.pi / 4, bias_variance=0.0, depth=3)
    fortran = kernelmc.nngp(np.asfortranarray(X))
    assert np.array_equal(default, explicit)
    assert np.array_equal(default, fortran)


def test_nngp_must_fail_twin_a_wrong_g_is_detected():
    X = inputs()
    got = kernelmc.nngp(X, activation="erf", g=1.3, bias_variance=0.1, depth=3)
    assert not np.allclose(got, numpy_nngp(X, erf_step, 1.31, 0.1, 3), rtol=1e-6, atol=0)


def test_prior_moments_linear_first_hidden_layer_is_isserlis():
    X = inputs(P=3, d=2, seed=3)
    g = [1.2, 0.7, 1.0]
    m = kernelmc.prior_moments(X, activation="linear", g=g, bias_variance=0.2, depth=2)
    P, K = 3, 6
    assert m["nngp"].shape == (3, P, P)
    assert m["scaled_covariance"].shape == (3, K, K)
    assert m["triangle_pairs"].tolist() == [[0, 0], [0, 1], [0, 2], [1, 1], [1, 2], [2, 2]]
    assert m["four_point_method"] == "quadrature"
    # Linear phi: mu = 0 in every layer (C_GP is the exact prior mean).
    assert np.all(m["scaled_mean_shift"] == 0)
    # C^(2) = sigma_b^2 + (g_2/N) sum_i h_i h_i^T, h_i ~ N(0, C^(1)) i.i.d.:
    # N Cov(C_ab, C_cd) = g_2^2 (C1_ac C1_bd + C1_ad C1_bc) exactly.
    C1 = input_kernel(X, g[0], 0.2)
    pairs = m["triangle_pairs"]
    want = np.array([[g[1] ** 2 * (C1[a, c] * C1[b, d] + C1[a, d] * C1[b, c]) for c, d in pairs] for a, b in pairs])
    np.testing.assert_allclose(m["scaled_covariance"][1], want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(m["nngp"], numpy_nngp(X, lambda C: C, g, 0.2, 2), rtol=1e-12)
    assert np.all(m["scaled_covariance"][0] == 0)
