"""Statistics for comparing a method with a baseline over the same seeds (scipy.stats).

- paired gain: mean over seeds of (method - baseline) on the same seed and data, with a
  percentile bootstrap 95% interval (resampling seeds);
- std ratio: std(method) / std(baseline) (sample stds), with a paired bootstrap 95% interval;
- Brown-Forsythe test of equal variances (Levene's test centred on the median), its p-value;
- collapse rates compared by the exact McNemar test (the runs are paired).
Bootstraps use a fixed generator, so a report is reproducible. With fewer than three seeds, or
when every value is equal, an interval or test is undefined and reported as None.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

CONFIDENCE = 0.95
RESAMPLES = 9999


def _clean(x) -> float | None:
    x = float(x)
    return round(x, 4) if math.isfinite(x) else None


def _bootstrap(data, statistic, paired: bool) -> tuple[float | None, float | None]:
    from scipy import stats

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # degenerate resamples (all equal) are reported as None
        res = stats.bootstrap(data, statistic, paired=paired, vectorized=False, confidence_level=CONFIDENCE,
                              n_resamples=RESAMPLES, method="percentile", rng=np.random.default_rng(0))
        # Percentiles of the resampled statistics, ignoring undefined resamples (a resample whose
        # baseline values are all one seed has no std): scipy's own interval would turn into NaN.
        tail = 100 * (1 - CONFIDENCE) / 2
        low, high = np.nanpercentile(res.bootstrap_distribution, [tail, 100 - tail])
    return _clean(low), _clean(high)


def compare(method: list[float], baseline: list[float]) -> dict:
    """Paired comparison of two equal-length lists of per-seed scores (same seed order)."""
    from scipy import stats

    m, b = np.asarray(method, float), np.asarray(baseline, float)
    if m.shape != b.shape:
        raise ValueError("compare: method and baseline need the same seeds")
    diff = m - b
    out = {"seeds": len(m), "gain": _clean(diff.mean()), "gain_ci": [None, None], "gains_positive": int((diff > 0).sum()),
           "std_ratio": None, "std_ratio_ci": [None, None], "brown_forsythe_p": None}
    if len(m) < 3:
        return out
    if np.ptp(diff) > 0:
        out["gain_ci"] = list(_bootstrap((diff,), np.mean, paired=False))
    if b.std(ddof=1) > 0:
        out["std_ratio"] = _clean(m.std(ddof=1) / b.std(ddof=1))

        def ratio(x, y):
            sy = np.std(y, ddof=1)
            return np.std(x, ddof=1) / sy if sy > 0 else np.nan

        out["std_ratio_ci"] = list(_bootstrap((m, b), ratio, paired=True))
    if np.ptp(m) > 0 or np.ptp(b) > 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out["brown_forsythe_p"] = _clean(stats.levene(m, b, center="median").pvalue)
    return out


def _pooled_std(groups) -> float:
    """Root of the mean within-group sample variance."""
    return float(np.sqrt(np.mean([np.var(g, ddof=1) for g in groups])))


def within_draws(method: list[list[float]], baseline: list[list[float]]) -> dict:
    """Seed spread at a fixed training set: per draw, the seeds of a method and of the baseline on
    that draw (same seed order). The pooled within-draw std of each (the root of the mean
    within-draw variance), their ratio with a paired bootstrap interval that resamples seeds
    inside each draw, and the Brown-Forsythe test on the values centred on their draw's median.
    The spread between draws, which no training-time regulariser can change, is left out; the
    pooled std ratio of `compare` mixes it in."""
    from scipy import stats

    m = [np.asarray(d, float) for d in method]
    b = [np.asarray(d, float) for d in baseline]
    if [len(d) for d in m] != [len(d) for d in b]:
        raise ValueError("within_draws: method and baseline need the same seeds in every draw")
    out = {"draws": len(m), "std": None, "baseline_std": None, "std_ratio": None, "std_ratio_ci": [None, None],
           "brown_forsythe_p": None}
    if not m or min(len(d) for d in m) < 3:
        return out
    out["std"], out["baseline_std"] = _clean(_pooled_std(m)), _clean(_pooled_std(b))
    if out["baseline_std"]:
        out["std_ratio"] = _clean(_pooled_std(m) / _pooled_std(b))
        rng, ratios = np.random.default_rng(0), []
        for _ in range(RESAMPLES):
            picks = [rng.integers(0, len(d), len(d)) for d in m]
            sb = _pooled_std([d[i] for d, i in zip(b, picks)])
            ratios.append(_pooled_std([d[i] for d, i in zip(m, picks)]) / sb if sb > 0 else np.nan)
        tail = 100 * (1 - CONFIDENCE) / 2
        out["std_ratio_ci"] = [_clean(x) for x in np.nanpercentile(ratios, [tail, 100 - tail])]
    centred_m = np.concatenate([d - np.median(d) for d in m])
    centred_b = np.concatenate([d - np.median(d) for d in b])
    if np.ptp(centred_m) > 0 or np.ptp(centred_b) > 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out["brown_forsythe_p"] = _clean(stats.levene(centred_m, centred_b, center="median").pvalue)
    return out


# A collapsed run: the selected epoch at or below the zero-training floor, or at least this share
# of the reported split predicted as one class (huggingface/peft #2642: one class every epoch).
COLLAPSE_SHARE = 0.95


def collapsed(score: float | None, one_class_share: float | None, floor: float | None) -> bool:
    return (floor is not None and score is not None and score <= floor) or \
        (one_class_share is not None and one_class_share >= COLLAPSE_SHARE)


def collapse_test(method: list[bool], baseline: list[bool]) -> dict:
    """Collapsed runs of a method against the baseline's on the same (draw, seed) pairs, compared by
    the exact McNemar test: a two-sided binomial test on the discordant pairs (one collapsed, the
    other not), the exact test for paired yes/no outcomes; Fisher's would treat the runs as
    independent. No discordant pair: p = 1."""
    from scipy import stats

    if len(method) != len(baseline):
        raise ValueError("collapse_test: method and baseline need the same runs")
    only_method = sum(m and not b for m, b in zip(method, baseline))
    only_baseline = sum(b and not m for m, b in zip(method, baseline))
    discordant = only_method + only_baseline
    p = stats.binomtest(only_method, discordant, 0.5).pvalue if discordant else 1.0
    return {"collapsed": sum(map(bool, method)), "baseline_collapsed": sum(map(bool, baseline)),
            "only_method": only_method, "only_baseline": only_baseline, "exact_mcnemar_p": _clean(p)}
