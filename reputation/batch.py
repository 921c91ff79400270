"""Batch computation of every score from event arrays, vectorised with numpy and scipy.sparse.

The pipeline, in order:
1. edge weights: log-scaled transaction value, retaliatory negatives discounted, and a
   recency weight for the recent estimate;
2. rater -> ratee pairs: repeated ratings merged and capped, reciprocal praise and praise inside
   dense mutual clusters discounted;
3. rater credibility: account maturity (age, breadth) x standing (praise from mature,
   vouched-for accounts, propagated over the positive ratings, EigenTrust-style) x fairness
   (REV2: how well a rater's ratings agree with the consensus), iterated with goodness;
4. goodness per user and per role: a lifetime and a recent credibility-weighted mean, each
   shrunk to a cautious prior, blended;
5. eBay feedback counts, flags and the factors of each score's explanation.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .config import EngineConfig
from .events import DAY, MONDAY_EPOCH, WEEK, EventArrays, RatingEvent, to_unix
from .explain import (
    FLAG_NAMES,
    FLAG_NEW,
    FLAG_RING,
    FLAG_SYBIL,
    FLAG_SYBIL_PRAISE,
    RoleShare,
    explain,
)
from .scores import Feedback, Score, WindowCounts

__all__ = ["FLAG_NEW", "FLAG_RING", "FLAG_SYBIL", "FLAG_SYBIL_PRAISE", "ScoreColumns", "compute"]
_FLAG_BITS = FLAG_NAMES
_MONTHS = (1, 6, 12)


def signs(value: np.ndarray, band: float) -> np.ndarray:
    """Return +1 / 0 / -1 per value: the eBay class of each rating."""
    return np.where(value > band, 1, np.where(value < -band, -1, 0)).astype(np.int64)


def amount_weights(amount: np.ndarray, cfg: EngineConfig) -> np.ndarray:
    """Return each rating's weight from its transaction value (unknown value = 1)."""
    weight = np.ones(len(amount))
    known = ~np.isnan(amount)
    if known.any():
        unit = float(cfg.amount_unit_cents)
        raw = np.log1p(amount[known] / unit) / np.log1p(cfg.amount_reference_cents / unit)
        weight[known] = np.clip(raw, cfg.min_amount_weight, cfg.max_amount_weight)
    return weight


def latest_per_transaction(ev: EventArrays) -> np.ndarray:
    """Return a mask keeping only the latest rating a rater left for each transaction."""
    keep = np.ones(len(ev), dtype=bool)
    idx = np.nonzero(ev.transaction >= 0)[0]
    if len(idx) < 2:
        return keep
    # Sorting on (tx, time, value, amount, role name) makes the survivor independent of the
    # input order; the engine breaks ties the same way.
    role_rank = np.argsort(np.argsort(np.array(ev.roles, dtype=object))) if ev.roles else []
    role_key = np.where(ev.ratee_role[idx] >= 0, np.r_[role_rank, 0][ev.ratee_role[idx]], -1)
    amount_key = np.nan_to_num(ev.amount[idx], nan=-1.0)
    keys = (role_key, amount_key, ev.value[idx], ev.time[idx], ev.transaction[idx])
    order = idx[np.lexsort(keys)]
    tx = ev.transaction[order]
    last = np.r_[tx[1:] != tx[:-1], True]
    keep[order[~last]] = False
    return keep


def feedback_arrays(
    block: np.ndarray,
    rater: np.ndarray,
    time: np.ndarray,
    sign: np.ndarray,
    n_blocks: int,
    n_users: int,
    now: float,
    windows_days: tuple[int, ...],
) -> tuple[np.ndarray, np.ndarray]:
    """Count eBay feedback units per block: all time (n, 3) and per window (n, windows, 3).

    A unit is one (rater, block, Monday-to-Monday UTC week): its class is the sign of the
    week's positives minus negatives, so a rater moves a score by at most 1 per week.
    Columns are positive, neutral, negative.
    """
    total = np.zeros((n_blocks, 3), dtype=np.int64)
    windows = np.zeros((n_blocks, len(windows_days), 3), dtype=np.int64)
    if len(block) == 0:
        return total, windows
    week = np.floor((time - MONDAY_EPOCH) / WEEK).astype(np.int64)
    week -= week.min()
    _, pair = np.unique(block * n_users + rater, return_inverse=True)
    buckets, binv = np.unique(pair * (int(week.max()) + 1) + week, return_inverse=True)
    bucket_block = np.empty(len(buckets), dtype=np.int64)
    bucket_block[binv] = block
    net = np.bincount(binv, sign, len(buckets))
    for col, cls in enumerate((net > 0, net == 0, net < 0)):
        total[:, col] = np.bincount(bucket_block, cls, n_blocks)
    for w, days in enumerate(windows_days):
        inside = time > now - days * DAY
        net_w = np.bincount(binv, sign * inside, len(buckets))
        has_w = np.bincount(binv, inside, len(buckets)) > 0
        for col, cls in enumerate((net_w > 0, net_w == 0, net_w < 0)):
            windows[:, w, col] = np.bincount(bucket_block, cls & has_w, n_blocks)
    return total, windows


@dataclass(slots=True)
class _Blocks:
    """Per-block (user, or user in a role) result arrays."""

    trust: np.ndarray
    confidence: np.ndarray
    n_ratings: np.ndarray
    n_eff: np.ndarray  # lifetime credibility-weighted ratings (the evidence)
    n_recent: np.ndarray  # the same, weighted by recency
    t_plain: np.ndarray  # trust from the plain average of the ratings
    t_cred: np.ndarray  # ... weighted by rater credibility, size and reciprocity
    t_life: np.ndarray  # ... shrunk towards the newcomer's trust by the amount of evidence
    t_recent: np.ndarray  # the recent estimate, shrunk likewise
    ratings: np.ndarray  # (n, 3) positive, neutral, negative ratings received (not units)
    n_small: np.ndarray
    w_reciprocal: np.ndarray
    w_cluster: np.ndarray
    n_new_raters: np.ndarray
    total: np.ndarray
    windows: np.ndarray


# Most entries of (A @ A) computed at once when counting triangles: it bounds the memory of
# the product (a member with thousands of partners makes A @ A far denser than A).
_TRIANGLE_CHUNK = 4_000_000


def _triangles(adj: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Sorted keys (row * n + col) of the edges of `adj` and the common neighbours of each.

    (A @ A) masked by A, computed over row ranges whose product has at most about
    _TRIANGLE_CHUNK entries, so memory stays bounded however skewed the degrees are.
    """
    n = adj.shape[0]
    degree = np.diff(adj.indptr).astype(np.float64)
    # Entries of row u of A @ A: at most sum of its neighbours' degrees, and at most n.
    cost = np.minimum(adj @ degree, n)
    ends = np.searchsorted(np.cumsum(cost), np.arange(_TRIANGLE_CHUNK, cost.sum(), _TRIANGLE_CHUNK))
    keys, counts = [], []
    for a, b in zip(np.r_[0, ends + 1], np.r_[ends + 1, n], strict=True):
        if a >= b:
            continue
        rows = adj[a:b]
        tri = (rows @ adj).multiply(rows).tocoo()
        keys.append((tri.row.astype(np.int64) + a) * n + tri.col)
        counts.append(np.asarray(tri.data, dtype=np.float64))
    all_keys = np.concatenate(keys) if keys else np.zeros(0, np.int64)
    all_counts = np.concatenate(counts) if counts else np.zeros(0)
    order = np.argsort(all_keys)
    return all_keys[order], all_counts[order]


def _unique_sorted(keys: np.ndarray) -> np.ndarray:
    """Return the sorted unique keys (a sort is much faster here than numpy's hash unique)."""
    ordered = np.sort(keys)
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if len(ordered) else ordered


def _lookup(sorted_keys: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (position, found) of keys in a sorted unique key array."""
    if len(sorted_keys) == 0:
        return np.zeros(len(keys), np.int64), np.zeros(len(keys), bool)
    pos = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return pos, sorted_keys[pos] == keys


class ScoreTable:
    """All scores of one computation; arrays for bulk use, `get()` for one `Score`."""

    def __init__(
        self,
        *,
        users: list[Hashable],
        roles: list[str],
        now: float,
        config: EngineConfig,
        overall: _Blocks,
        by_role: _Blocks,
        role_user: np.ndarray,
        role_code: np.ndarray,
        flags: np.ndarray,
        age_days: np.ndarray,
        credibility: np.ndarray,
        standing: np.ndarray,
        fairness: np.ndarray,
        has_data: np.ndarray,
        from_roles: np.ndarray,
    ) -> None:
        self.users = users
        self.roles = roles
        self.now = now
        self.config = config
        self.overall = overall
        self.by_role = by_role
        self.role_user = role_user
        self.role_code = role_code
        self.flag_bits = flags
        self.age_days = age_days
        self.credibility = credibility
        self.standing = standing
        self.fairness = fairness
        self.has_data = has_data
        # Users whose overall trust is the evidence-weighted mean of their role scores.
        self.from_roles = from_roles
        self._user_index: dict[Hashable, int] | None = None
        self._role_index: dict[tuple[int, int], int] | None = None
        self._role_codes = {r: i for i, r in enumerate(roles)}

    # The lookup dicts are built on first use: a bulk caller reading arrays never pays for them.
    @property
    def user_index(self) -> dict[Hashable, int]:
        """Map user id -> position in `users` and the per-user arrays."""
        if self._user_index is None:
            self._user_index = {u: i for i, u in enumerate(self.users)}
        return self._user_index

    @property
    def role_index(self) -> dict[tuple[int, int], int]:
        """Map (user position, role code) -> role block."""
        if self._role_index is None:
            pairs = zip(self.role_user.tolist(), self.role_code.tolist(), strict=True)
            self._role_index = {pair: b for b, pair in enumerate(pairs)}
        return self._role_index

    @property
    def trust(self) -> np.ndarray:
        """Overall trust per user, aligned with `users`."""
        return self.overall.trust

    @property
    def prior_trust(self) -> float:
        """Trust of a user nobody has rated yet."""
        return (self.config.prior_goodness + 1.0) / 2.0

    def __len__(self) -> int:
        return int(self.has_data.sum())

    def __iter__(self):
        """Yield the overall `Score` of every user who rated or was rated."""
        for i in np.nonzero(self.has_data)[0]:
            yield self._score(self.overall, int(i), int(i), None)

    def get(self, user: Hashable, role: str | None = None) -> Score:
        """Return the `Score` of `user` overall (role=None) or in `role`; unknown = newcomer."""
        i = self.user_index.get(user)
        if i is None:
            return self.empty(user, role)
        if role is None:
            return self._score(self.overall, i, i, None)
        b = self.role_index.get((i, self._role_codes.get(role, -1)))
        if b is None:
            base = self.empty(user, role)
            flags = self._flags(i)
            return Score(**{**_fields(base), "flags": flags})
        return self._score(self.by_role, b, i, role)

    def role_scores(self) -> Iterable[Score]:
        """Yield a `Score` per user and role the user was rated in."""
        for b in range(len(self.role_user)):
            u = int(self.role_user[b])
            yield self._score(self.by_role, b, u, self.roles[int(self.role_code[b])])

    def empty(self, user: Hashable, role: str | None) -> Score:
        """Return the score of a user without any rating."""
        zero = tuple(WindowCounts(m, 0, 0, 0) for m in _MONTHS)
        explanation = explain(None, self.config)
        return Score(
            user, role, self.prior_trust, 0.0, 0, None, 0, 0, 0, zero,  # type: ignore[arg-type]
            frozenset({FLAG_NEW}), explanation,
        )  # fmt: skip

    def _flags(self, i: int) -> frozenset[str]:
        return flag_names(int(self.flag_bits[i]))

    def feedback(self, blocks: _Blocks, b: int) -> Feedback:
        """Return the feedback counts of block `b`."""
        pos, neu, neg = (int(x) for x in blocks.total[b])
        counts = tuple(
            WindowCounts(m, *(int(x) for x in blocks.windows[b, w])) for w, m in enumerate(_MONTHS)
        )
        year = counts[-1]
        rated = year.positive + year.negative
        percent = 100.0 * year.positive / rated if rated else None
        return Feedback(pos - neg, percent, pos, neu, neg, counts)  # type: ignore[arg-type]

    def _score(self, blocks: _Blocks, b: int, i: int, role: str | None) -> Score:
        fb = self.feedback(blocks, b)
        flags = self._flags(i)
        figures = self.figures(blocks, b)
        return Score(
            user=self.users[i],
            role=role,
            trust=float(blocks.trust[b]),
            confidence=float(blocks.confidence[b]),
            feedback_score=fb.feedback_score,
            percent_positive=fb.percent_positive,
            positive=fb.positive,
            neutral=fb.neutral,
            negative=fb.negative,
            counts=fb.counts,
            flags=flags,
            explanation=self._explain(blocks, b, i, flags),
            figures=figures,
        )

    def figures(self, bl: _Blocks, b: int) -> tuple[float, ...]:
        """The numbers the explanation of block `b` is rendered from (explain.FIGURES)."""
        pos, neu, neg = bl.ratings[b].tolist()
        return (
            float(pos), float(neu), float(neg),
            float(bl.t_plain[b]), float(bl.t_cred[b]), float(bl.t_life[b]),
            float(bl.t_recent[b]), float(bl.trust[b]), float(bl.n_eff[b]),
            float(bl.n_recent[b]), float(bl.n_new_raters[b]), float(bl.w_reciprocal[b] > 0),
            float(bl.w_cluster[b] > 0), float(bl.n_small[b]),
        )  # fmt: skip

    def role_shares(self, i: int) -> list[RoleShare]:
        """The role scores of user `i`, for an overall score made of them."""
        lo, hi = np.searchsorted(self.role_user, [i, i + 1])
        shares = [
            RoleShare(
                self.roles[int(self.role_code[b])],
                float(self.by_role.trust[b]),
                int(self.by_role.n_ratings[b]),
                float(self.by_role.n_eff[b]),
            )
            for b in range(lo, hi)
        ]
        return sorted(shares, key=lambda share: share.role)

    def _explain(self, bl: _Blocks, b: int, i: int, flags: frozenset[str]) -> tuple:
        figures, roles = self.figures(bl, b), None
        if bl is self.overall and self.from_roles[b]:
            lo, hi = np.searchsorted(self.role_user, [i, i + 1])
            if hi - lo == 1:
                # Rated in one role only: the overall score is that role's, explained by its
                # own steps.
                figures = self.figures(self.by_role, int(lo))
            else:
                roles = self.role_shares(i)
        return explain(
            figures, self.config, flags=flags, age_days=float(self.age_days[i]), roles=roles
        )

    def columns(self) -> ScoreColumns:
        """Every score as arrays, for bulk storage: the overall rows of every user who rated
        or was rated, then one row per user and role. No per-score Python objects."""
        users = np.nonzero(self.has_data)[0]
        ov, br = self.overall, self.by_role
        user = np.r_[users, self.role_user].astype(np.int64)

        def both(name: str) -> np.ndarray:
            return np.r_[getattr(ov, name)[users], getattr(br, name)]

        total = np.concatenate([ov.total[users], br.total])
        windows = np.concatenate([ov.windows[users], br.windows])
        year = windows[:, -1]
        rated = year[:, 0] + year[:, 2]
        percent = np.full(len(user), np.nan)
        np.divide(100.0 * year[:, 0], rated, out=percent, where=rated > 0)
        figures = np.concatenate(
            [_figure_matrix(ov, users), _figure_matrix(br, np.arange(len(self.role_user)))]
        )
        return ScoreColumns(
            user=user,
            role=np.r_[np.full(len(users), -1), self.role_code].astype(np.int64),
            trust=both("trust"),
            confidence=both("confidence"),
            feedback_score=total[:, 0] - total[:, 2],
            percent_positive=percent,
            total=total,
            windows=windows,
            flags=self.flag_bits[user],
            figures=figures,
            from_roles=np.r_[self.from_roles[users], np.zeros(len(self.role_user), bool)],
            age_days=self.age_days[user],
        )


@dataclass(slots=True)
class ScoreColumns:
    """All scores of a ScoreTable as aligned arrays (see ScoreTable.columns)."""

    user: np.ndarray  # index into ScoreTable.users
    role: np.ndarray  # index into ScoreTable.roles, -1 = the overall row
    trust: np.ndarray
    confidence: np.ndarray
    feedback_score: np.ndarray
    percent_positive: np.ndarray  # NaN = no positive or negative in 12 months
    total: np.ndarray  # (n, 3) all-time positive, neutral, negative units
    windows: np.ndarray  # (n, 3 windows, 3)
    flags: np.ndarray  # bit k = explain.FLAG_NAMES[k]
    figures: np.ndarray  # (n, len(explain.FIGURES))
    from_roles: np.ndarray  # overall rows explained by their role rows
    age_days: np.ndarray

    def __len__(self) -> int:
        return len(self.user)


def flag_names(bits: int) -> frozenset[str]:
    """The flag names set in `bits`."""
    return frozenset(name for k, name in enumerate(_FLAG_BITS) if bits >> k & 1)


def _figure_matrix(bl: _Blocks, b: np.ndarray) -> np.ndarray:
    return np.column_stack(
        [
            bl.ratings[b, 0],
            bl.ratings[b, 1],
            bl.ratings[b, 2],
            bl.t_plain[b],
            bl.t_cred[b],
            bl.t_life[b],
            bl.t_recent[b],
            bl.trust[b],
            bl.n_eff[b],
            bl.n_recent[b],
            bl.n_new_raters[b],
            bl.w_reciprocal[b] > 0,
            bl.w_cluster[b] > 0,
            bl.n_small[b],
        ]
    ).astype(np.float64)


def _fields(score: Score) -> dict:
    return {name: getattr(score, name) for name in Score.__slots__}  # type: ignore[attr-defined]


def compute(
    events: Iterable[RatingEvent] | EventArrays,
    config: EngineConfig | None = None,
    now: float | None = None,
) -> ScoreTable:
    """Compute every user's and role's score from all events at once.

    `now` (Unix seconds or aware datetime) defaults to the latest event time; events after it
    are ignored.
    """
    cfg = config or EngineConfig()
    ev = events if isinstance(events, EventArrays) else EventArrays.from_events(events)
    latest = float(ev.time.max()) if len(ev) else 0.0
    now_s = latest if now is None else to_unix(now)
    mask = ev.time <= now_s
    if not mask.all():
        ev = ev.take(mask)
    keep = latest_per_transaction(ev)
    if not keep.all():
        ev = ev.take(keep)
    return _compute_arrays(ev, cfg, now_s)


def _compute_arrays(ev: EventArrays, cfg: EngineConfig, now: float) -> ScoreTable:
    n = len(ev.users)
    src, dst, val, t = ev.rater, ev.ratee, ev.value, ev.time
    sign = signs(val, cfg.neutral_band)
    # Raters use the scale inconsistently (some give +1 of 10 for every good trade): for the
    # recent estimate the sign carries more information than the magnitude, so magnitudes are
    # compressed there.
    val_r = np.sign(val) * np.abs(val) ** cfg.value_power
    band = cfg.neutral_band

    # 1. Edge weights.
    amount_w = amount_weights(ev.amount, cfg)
    # The lifetime estimate counts every rating at full weight; the recent one weighs it by
    # its age: 0.5 ** (age / half-life).
    fade = np.exp2(-np.maximum(now - t, 0.0) / DAY / cfg.half_life_days)
    w = amount_w.copy()
    neg = np.nonzero(sign < 0)[0]
    if len(neg):
        # A negative answered by a negative soon after is likely retaliation: the first one
        # stands, the answer is discounted.
        nkey = src[neg] * n + dst[neg]
        order = np.lexsort((t[neg], nkey))
        sk = nkey[order]
        first = np.r_[True, sk[1:] != sk[:-1]]
        first_key, first_t = sk[first], t[neg][order][first]
        pos, found = _lookup(first_key, dst[neg] * n + src[neg])
        earlier = first_t[pos]
        window = cfg.retaliation_window_days * DAY
        retaliation = found & (earlier < t[neg]) & (t[neg] - earlier <= window)
        w[neg[retaliation]] *= cfg.retaliation_discount

    # 2. Pairs: one rater's repeated ratings of one ratee count at most pair_weight_cap.
    pair_keys, pinv = np.unique(src * n + dst, return_inverse=True)
    n_pairs = len(pair_keys)
    w_raw = np.bincount(pinv, w, n_pairs)
    v_pair = np.bincount(pinv, w * val, n_pairs) / w_raw
    w_cap = np.minimum(w_raw, cfg.pair_weight_cap)
    r_raw = np.bincount(pinv, w * fade, n_pairs)
    vr_pair = np.bincount(pinv, w * fade * val_r, n_pairs) / np.where(r_raw > 0, r_raw, 1.0)
    r_cap = np.minimum(r_raw, cfg.pair_weight_cap)
    ps, pd = pair_keys // n, pair_keys % n
    rpos, rfound = _lookup(pair_keys, pd * n + ps)
    mutual = rfound & (v_pair > band) & (v_pair[rpos] > band)
    recip_f = np.where(mutual, cfg.reciprocal_discount, 1.0)
    cluster_f = np.ones(n_pairs)
    mutual_deg = np.bincount(ps[mutual], minlength=n)
    clustering = np.zeros(n)
    common = np.zeros(n_pairs)
    if mutual.any():
        mi = np.nonzero(mutual)[0]
        adj = sp.csr_matrix(
            (np.ones(len(mi), np.float32), (ps[mi], pd[mi])), shape=(n, n), dtype=np.float32
        )
        # Common mutual partners of each mutual pair (triangles through the edge).
        tri_keys, tri_count = _triangles(adj)
        tpos, tfound = _lookup(tri_keys, pair_keys[mi])
        if len(tri_keys):
            common[mi] = np.where(tfound, tri_count[tpos], 0.0)
        smaller = np.minimum(mutual_deg[ps[mi]], mutual_deg[pd[mi]]) - 1
        density = common[mi] / np.maximum(smaller, 1)
        cluster_f[mi] = 1.0 / (1.0 + cfg.cluster_penalty * common[mi] * density)
        possible = mutual_deg * (mutual_deg - 1.0)
        clustering = np.divide(
            np.bincount(ps[mi], common[mi], n), possible, out=np.zeros(n), where=possible > 0
        )
    weight = w_cap * recip_f * cluster_f

    # 3a. Account maturity and breadth.
    first_seen = np.full(n, np.inf)
    np.minimum.at(first_seen, src, t)
    np.minimum.at(first_seen, dst, t)
    has_data = np.isfinite(first_seen)
    age_days = np.where(has_data, (now - first_seen) / DAY, 0.0)
    lo, hi = np.minimum(ps, pd), np.maximum(ps, pd)
    und = _unique_sorted(lo * n + hi)
    und_a, und_b = und // n, und % n
    partners = np.bincount(und_a, minlength=n) + np.bincount(und_b, minlength=n)
    # Quadratic in age: a week-old account has ~5 % of a voice, not 23 %; and an account
    # that dealt with one counterparty only is a weaker witness than one with many.
    if cfg.maturity_days > 0:
        maturity = np.clip(age_days / cfg.maturity_days, 0.0, 1.0) ** 2
    else:
        maturity = has_data.astype(float)
    maturity *= 1.0 - np.exp(-partners / cfg.breadth_scale)
    is_new = has_data & (age_days < cfg.new_account_days)

    # 3b. Standing: how strongly mature, vouched-for accounts praise this account, propagated
    # over the positive ratings. The map only grows with praise (no normalisation), so a new
    # positive can never lower anyone's standing; accounts younger than maturity_days vouch
    # for nobody, so a farm of fresh accounts cannot lift itself or anyone else.
    positive = np.nonzero(v_pair > band)[0]
    flow = weight[positive] * v_pair[positive]
    standing = np.zeros(n)
    for _ in range(cfg.propagation_iterations):
        voucher = maturity * (cfg.standing_floor + (1.0 - cfg.standing_floor) * standing)
        vouched = np.bincount(pd[positive], flow * voucher[ps[positive]], n)
        standing = 1.0 - np.exp(-vouched / cfg.standing_scale)
    base = maturity * (cfg.standing_floor + (1.0 - cfg.standing_floor) * standing)
    # Suspected Sybils (most counterparties new, or unvouched like themselves) have no voice:
    # a farm of accounts a few weeks old must not lift anybody.
    flags = np.zeros(n, dtype=np.int64)
    flags |= is_new.astype(np.int64) << 0
    new_partners = np.bincount(und_a, is_new[und_b], n) + np.bincount(und_b, is_new[und_a], n)
    unvouched = has_data & (standing < 0.05)
    weak_partners = np.bincount(und_a, unvouched[und_b], n) + np.bincount(
        und_b, unvouched[und_a], n
    )
    share_new = np.divide(new_partners, partners, out=np.zeros(n), where=partners > 0)
    share_weak = np.divide(weak_partners, partners, out=np.zeros(n), where=partners > 0)
    enough = partners >= cfg.sybil_min_counterparties
    sybil = enough & (
        (is_new & (share_new >= cfg.sybil_new_share))
        | (unvouched & (share_weak >= cfg.sybil_new_share))
    )
    base = np.where(sybil, 0.0, base)

    # 3c-4. REV2-style fixed point of fairness (as rater) and goodness (as ratee).
    g0, kc = cfg.prior_goodness, cfg.consensus_prior_strength
    kf, f0 = cfg.fairness_prior_strength, cfg.fairness_prior
    given = np.bincount(ps, weight, n)
    fairness = np.ones(n)
    for _ in range(max(cfg.iterations, 1)):
        cred = base * fairness
        wc = weight * cred[ps]
        num, den = np.bincount(pd, wc * v_pair, n), np.bincount(pd, wc, n)
        # Fairness is judged against the (nearly) unshrunk consensus, as in REV2: shrinking
        # towards the newcomer prior would make praise of any little-known user look unfair.
        consensus = (num + kc * g0) / (den + kc)
        agree = 1.0 - np.abs(v_pair - consensus[pd]) / 2.0
        fairness = (np.bincount(ps, weight * agree, n) + kf * f0) / (given + kf)
    cred = base * fairness

    # 5. Flags (per user; role rows inherit them).
    flags |= sybil.astype(np.int64) << 1
    pos_in = v_pair > band
    praise = np.bincount(pd, pos_in & sybil[ps], n)
    all_praise = np.bincount(pd, pos_in, n)
    praised = (praise >= cfg.sybil_praise_min) & (
        praise >= cfg.sybil_praise_share * np.maximum(all_praise, 1)
    )
    flags |= praised.astype(np.int64) << 2
    inner = np.bincount(pd, mutual & (common > 0), n)
    ring = (
        (mutual_deg >= cfg.collusion_min_partners)
        & (clustering >= cfg.collusion_min_clustering)
        & (inner >= cfg.collusion_min_share * np.maximum(all_praise, 1))
    )
    flags |= ring.astype(np.int64) << 3

    # Per-block results: overall blocks are users, role blocks are (user, role).
    new_rater_pair = is_new[ps]
    small = amount_w < 0.5
    overall = _blocks(
        cfg, n, now, n,
        ev_block=dst, ev_src=src, ev_val=val, ev_t=t, ev_sign=sign,
        ev_amount_w=amount_w, ev_small=small,
        p_src=ps, p_block=pd, w_cap=w_cap, recip_f=recip_f, cluster_f=cluster_f,
        v_pair=v_pair, r_cap=r_cap, vr_pair=vr_pair, cred=cred, new_rater_pair=new_rater_pair,
    )  # fmt: skip

    rm = np.nonzero(ev.ratee_role >= 0)[0]
    n_roles = max(len(ev.roles), 1)
    block_keys, binv = np.unique(dst[rm] * n_roles + ev.ratee_role[rm], return_inverse=True)
    nb = len(block_keys)
    rp_keys, rpinv = np.unique(src[rm] * max(nb, 1) + binv, return_inverse=True)
    rps, rpb = rp_keys // max(nb, 1), rp_keys % max(nb, 1)
    rw = np.bincount(rpinv, w[rm], len(rp_keys))
    rv = np.bincount(rpinv, w[rm] * val[rm], len(rp_keys)) / np.where(rw > 0, rw, 1.0)
    rr = np.bincount(rpinv, w[rm] * fade[rm], len(rp_keys))
    rvr = np.bincount(rpinv, w[rm] * fade[rm] * val_r[rm], len(rp_keys)) / np.where(rr > 0, rr, 1.0)
    role_user = block_keys // n_roles
    opos, _ = _lookup(pair_keys, rps * n + role_user[rpb])
    by_role = _blocks(
        cfg, nb, now, n,
        ev_block=binv, ev_src=src[rm], ev_val=val[rm], ev_t=t[rm], ev_sign=sign[rm],
        ev_amount_w=amount_w[rm], ev_small=small[rm],
        p_src=rps, p_block=rpb, w_cap=np.minimum(rw, cfg.pair_weight_cap),
        recip_f=recip_f[opos], cluster_f=cluster_f[opos], v_pair=rv,
        r_cap=np.minimum(rr, cfg.pair_weight_cap), vr_pair=rvr, cred=cred,
        new_rater_pair=is_new[rps],
    )  # fmt: skip

    # Overall = the role scores' mean weighted by the evidence each rests on (n_eff + the
    # prior's weight), for users rated in roles only: it always lies between their role scores.
    from_roles = np.zeros(n, dtype=bool)
    if nb:
        role_weight = by_role.n_eff + cfg.prior_strength
        weight_sum = np.bincount(role_user, role_weight, n)
        from_roles = (weight_sum > 0) & (np.bincount(dst, ev.ratee_role < 0, n) == 0)
        blended = np.bincount(role_user, role_weight * by_role.trust, n) / np.where(
            from_roles, weight_sum, 1.0
        )
        overall.trust = np.where(from_roles, blended, overall.trust)

    return ScoreTable(
        users=ev.users,
        roles=ev.roles,
        now=now,
        config=cfg,
        overall=overall,
        by_role=by_role,
        role_user=role_user,
        role_code=block_keys % n_roles,
        flags=flags,
        age_days=age_days,
        credibility=cred,
        standing=standing,
        fairness=fairness,
        has_data=has_data,
        from_roles=from_roles,
    )


def _blocks(
    cfg: EngineConfig,
    nb: int,
    now: float,
    n_users: int,
    *,
    ev_block: np.ndarray,
    ev_src: np.ndarray,
    ev_val: np.ndarray,
    ev_t: np.ndarray,
    ev_sign: np.ndarray,
    ev_amount_w: np.ndarray,
    ev_small: np.ndarray,
    p_src: np.ndarray,
    p_block: np.ndarray,
    w_cap: np.ndarray,
    recip_f: np.ndarray,
    cluster_f: np.ndarray,
    v_pair: np.ndarray,
    r_cap: np.ndarray,
    vr_pair: np.ndarray,
    cred: np.ndarray,
    new_rater_pair: np.ndarray,
) -> _Blocks:
    """Aggregate pair weights into trust, confidence, feedback and explanation figures."""
    k, g0 = cfg.prior_strength, cfg.prior_goodness
    prior_t = (g0 + 1.0) / 2.0
    discount = recip_f * cluster_f
    wc = w_cap * discount * cred[p_src]
    den = np.bincount(p_block, wc, nb)
    num = np.bincount(p_block, wc * v_pair, nb)
    life = (num + k * g0) / (den + k)
    rc = r_cap * discount * cred[p_src]
    den_r = np.bincount(p_block, rc, nb)
    kr = cfg.recent_prior_strength
    recent = (np.bincount(p_block, rc * vr_pair, nb) + kr * g0) / (den_r + kr)
    goodness = (1.0 - cfg.recent_share) * life + cfg.recent_share * recent
    trust = np.clip((goodness + 1.0) / 2.0, 0.0, 1.0)
    confidence = den / (den + cfg.confidence_half)

    n_ratings = np.bincount(ev_block, minlength=nb)
    plain = np.bincount(ev_block, ev_val, nb)
    t_plain = np.where(n_ratings > 0, (plain / np.maximum(n_ratings, 1) + 1.0) / 2.0, prior_t)
    t_cred = np.where(den > 1e-12, (num / np.where(den > 1e-12, den, 1) + 1) / 2, t_plain)
    total, windows = feedback_arrays(
        ev_block, ev_src, ev_t, ev_sign, nb, n_users, now, cfg.windows_days
    )
    return _Blocks(
        trust=trust,
        confidence=confidence,
        n_ratings=n_ratings,
        n_eff=den,
        n_recent=den_r,
        t_plain=t_plain,
        t_cred=t_cred,
        t_life=(life + 1.0) / 2.0,
        t_recent=(recent + 1.0) / 2.0,
        ratings=np.stack(
            [np.bincount(ev_block, ev_sign == s, nb) for s in (1, 0, -1)], axis=1
        ).astype(np.int64),
        n_small=np.bincount(ev_block, ev_small, nb),
        w_reciprocal=np.bincount(p_block, w_cap * (1 - recip_f), nb),
        w_cluster=np.bincount(p_block, w_cap * recip_f * (1 - cluster_f), nb),
        n_new_raters=np.bincount(p_block, new_rater_pair, nb),
        total=total,
        windows=windows,
    )
