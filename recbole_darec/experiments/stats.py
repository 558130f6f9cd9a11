r"""The statistics every experiment report uses: mean ± sample std over seeds, and the paired
t-test across seeds."""

import statistics


def mean_std(values):
    r"""(mean, sample standard deviation); the spread of one value is 0."""
    values = list(values)
    if len(values) < 2:
        return float(values[0]), 0.0
    return statistics.mean(values), statistics.stdev(values)


def fmt_mean_std(values, scale=1.0, digits=4):
    r"""``"mean ± std"`` of ``values`` times ``scale``."""
    mean, std = mean_std(values)
    return f"{mean * scale:.{digits}f} ± {std * scale:.{digits}f}"


def paired_t_test(ours, theirs):
    r"""Two-sided paired t-test of ``ours - theirs``; p is None with fewer than 2 pairs, and 0 or 1
    when the differences have no spread (all equal: 1 if they are all zero)."""
    from scipy import stats

    if len(ours) < 2:
        return None
    differences = [a - b for a, b in zip(ours, theirs)]
    if max(differences) == min(differences):
        return 0.0 if differences[0] != 0 else 1.0
    return float(stats.ttest_rel(ours, theirs).pvalue)
