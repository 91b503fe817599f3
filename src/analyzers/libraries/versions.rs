//! Version numbers and the ranges that npm, PEP 440, Poetry and `RubyGems` constraints allow.

/// A release number: up to four numeric parts; pre-release and build suffixes are ignored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version([u64; 4]);

impl Version {
    pub fn parse(s: &str) -> Option<Version> {
        Version::parse_partial(s).map(|(v, _)| v)
    }

    /// The version and how many parts were written (`2.5` → 2).
    /// Parts end at the first that does not start with a digit; a part's own suffix
    /// (`4rc1`, `post1`) ends the version there too (`0.6.4.post1` is 0.6.4).
    pub(super) fn parse_partial(s: &str) -> Option<(Version, usize)> {
        let s = s.trim().trim_start_matches(['v', 'V']);
        let core = s.split(['-', '+']).next()?;
        let mut parts = [0u64; 4];
        let mut n = 0;
        for p in core.split('.') {
            let digits = p.len() - p.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            if n == 4 || digits == 0 {
                break;
            }
            parts[n] = p[..digits].parse().ok()?;
            n += 1;
            if digits < p.len() {
                break;
            }
        }
        (n > 0).then_some((Version(parts), n))
    }

    /// The next release after bumping part `i` (`bump(1)` of 2.5.3 is 2.6.0).
    pub(super) fn bump(self, i: usize) -> Version {
        let mut p = self.0;
        p[i] += 1;
        for x in p.iter_mut().skip(i + 1) {
            *x = 0;
        }
        Version(p)
    }
}

/// The versions a constraint allows: `lo ≤ v` and `v < hi` (or `v ≤ hi` when `hi_inclusive`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Allowed {
    pub(super) lo: Option<Version>,
    /// Lower bound exclusive (`>1.0`).
    pub(super) lo_exclusive: bool,
    pub(super) hi: Option<Version>,
    pub(super) hi_inclusive: bool,
}

impl Allowed {
    pub(super) const ANY: Allowed = Allowed {
        lo: None,
        lo_exclusive: false,
        hi: None,
        hi_inclusive: false,
    };

    pub(super) fn exact(v: Version) -> Allowed {
        Allowed {
            lo: Some(v),
            lo_exclusive: false,
            hi: Some(v),
            hi_inclusive: true,
        }
    }

    pub(super) fn between(lo: Version, hi: Version) -> Allowed {
        Allowed {
            lo: Some(lo),
            lo_exclusive: false,
            hi: Some(hi),
            hi_inclusive: false,
        }
    }

    /// `>= v`, `> v`, `< v` or `<= v`.
    pub(super) fn compare(op: &str, v: Version) -> Allowed {
        match op {
            ">=" | ">" => Allowed {
                lo: Some(v),
                lo_exclusive: op == ">",
                ..Allowed::ANY
            },
            _ => Allowed {
                hi: Some(v),
                hi_inclusive: op == "<=",
                ..Allowed::ANY
            },
        }
    }

    pub(super) fn meet(self, o: Allowed) -> Allowed {
        let (lo, lo_exclusive) = match (self.lo, o.lo) {
            (Some(a), Some(b)) if a == b => (Some(a), self.lo_exclusive || o.lo_exclusive),
            (Some(a), Some(b)) if a > b => (Some(a), self.lo_exclusive),
            (Some(_), Some(b)) => (Some(b), o.lo_exclusive),
            (a, None) => (a, self.lo_exclusive),
            (None, b) => (b, o.lo_exclusive),
        };
        let (hi, hi_inclusive) = match (self.hi, o.hi) {
            (Some(a), Some(b)) if a == b => (Some(a), self.hi_inclusive && o.hi_inclusive),
            (Some(a), Some(b)) if a < b => (Some(a), self.hi_inclusive),
            (Some(_), Some(b)) => (Some(b), o.hi_inclusive),
            (a, None) => (a, self.hi_inclusive),
            (None, b) => (b, o.hi_inclusive),
        };
        Allowed {
            lo,
            lo_exclusive,
            hi,
            hi_inclusive,
        }
    }

    pub(super) fn allows_at_or_above(&self, v: Version) -> bool {
        match self.hi {
            None => true,
            Some(h) => h > v || (h == v && self.hi_inclusive),
        }
    }

    pub(super) fn allows_below(&self, v: Version) -> bool {
        self.lo.is_none_or(|l| l < v)
    }

    /// Some allowed version is in `[intro, fixed)`.
    pub(super) fn meets_affected(&self, intro: Version, fixed: Option<Version>) -> bool {
        self.allows_at_or_above(intro) && fixed.is_none_or(|f| self.allows_below(f))
    }
}

/// PEP 440 specifiers, comma-separated (`!=` excludes one version and does not change the range).
pub(super) fn pep440(spec: &str) -> Option<Allowed> {
    let mut allowed = Allowed::ANY;
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let op_len = part
            .find(|c: char| c.is_ascii_alphanumeric())
            .unwrap_or(part.len());
        let (op, ver) = (part[..op_len].trim(), part[op_len..].trim());
        let one = if let Some(prefix) = ver.strip_suffix(".*") {
            let (v, n) = Version::parse_partial(prefix)?;
            match op {
                "==" => Allowed::between(v, v.bump(n - 1)),
                _ => Allowed::ANY,
            }
        } else {
            let (v, n) = Version::parse_partial(ver)?;
            match op {
                "==" | "===" => Allowed::exact(v),
                ">=" | ">" | "<" | "<=" => Allowed::compare(op, v),
                "~=" if n >= 2 => Allowed::between(v, v.bump(n - 2)),
                _ => Allowed::ANY,
            }
        };
        allowed = allowed.meet(one);
    }
    Some(allowed)
}

/// npm semver ranges: exact, `^`, `~`, x-ranges, comparator sets and hyphen ranges. An
/// alternation (`a || b`) is judged by its hull, so it only counts as affected when every part
/// is. Tags, URLs and paths yield `None`.
pub(super) fn npm_range(spec: &str) -> Option<Allowed> {
    let spec = spec.trim();
    if spec.contains("||") {
        let parts: Vec<Allowed> = spec.split("||").map(npm_range).collect::<Option<_>>()?;
        return parts.into_iter().reduce(Allowed::hull);
    }
    if spec.is_empty() || spec == "*" || spec.eq_ignore_ascii_case("x") || spec == "latest" {
        return Some(Allowed::ANY);
    }
    if let Some((a, b)) = spec.split_once(" - ") {
        let (lo, _) = Version::parse_partial(a)?;
        let (hi, n) = Version::parse_partial(b)?;
        return Some(if n >= 3 {
            Allowed {
                lo: Some(lo),
                lo_exclusive: false,
                hi: Some(hi),
                hi_inclusive: true,
            }
        } else {
            Allowed::between(lo, hi.bump(n - 1))
        });
    }
    let mut allowed = Allowed::ANY;
    let mut op = "";
    for part in spec.split_whitespace() {
        // `>= 2.3.0`: an operator written apart from its version.
        if part
            .chars()
            .all(|c| matches!(c, '<' | '>' | '=' | '~' | '^'))
        {
            op = part;
            continue;
        }
        allowed = allowed.meet(npm_comparator(&format!("{op}{part}"))?);
        op = "";
    }
    Some(allowed)
}

pub(super) fn npm_comparator(part: &str) -> Option<Allowed> {
    let op_len = part
        .find(|c: char| c.is_ascii_digit() || c == 'x' || c == 'X' || c == '*')
        .unwrap_or(part.len());
    let (op, ver) = (&part[..op_len], &part[op_len..]);
    let op = op.trim_end_matches(['v', 'V']);
    // `2.x`, `2.5.*`: only the written numeric parts count.
    let wild = ver.split('.').position(|p| matches!(p, "x" | "X" | "*"));
    let numeric = wild.map_or(ver, |i| {
        let end = ver.split('.').take(i).map(|p| p.len() + 1).sum::<usize>();
        &ver[..end.saturating_sub(1)]
    });
    if numeric.is_empty() {
        return Some(Allowed::ANY);
    }
    let (v, n) = Version::parse_partial(numeric)?;
    let partial = n < 3;
    Some(match op {
        "" | "=" if partial => Allowed::between(v, v.bump(n - 1)),
        "" | "=" => Allowed::exact(v),
        "^" => {
            let first_nonzero = v.0[..n.max(1)].iter().position(|&x| x != 0);
            let i = match first_nonzero {
                Some(i) => i,
                None => n - 1,
            };
            Allowed::between(v, v.bump(i))
        }
        "~" => Allowed::between(v, v.bump(usize::from(n >= 2))),
        // `<=2.5` allows every 2.5.x.
        "<=" if partial => Allowed::compare("<", v.bump(n - 1)),
        ">=" | ">" | "<" | "<=" => Allowed::compare(op, v),
        _ => return None,
    })
}

impl Allowed {
    /// The smallest range holding both: a union of ranges is judged by its hull, which may
    /// count a gap between the parts as allowed.
    fn hull(self, o: Allowed) -> Allowed {
        let (lo, lo_exclusive) = match (self.lo, o.lo) {
            (Some(a), Some(b)) if a == b => (Some(a), self.lo_exclusive && o.lo_exclusive),
            (Some(a), Some(b)) if a < b => (Some(a), self.lo_exclusive),
            (Some(_), Some(b)) => (Some(b), o.lo_exclusive),
            _ => (None, false),
        };
        let (hi, hi_inclusive) = match (self.hi, o.hi) {
            (Some(a), Some(b)) if a == b => (Some(a), self.hi_inclusive || o.hi_inclusive),
            (Some(a), Some(b)) if a > b => (Some(a), self.hi_inclusive),
            (Some(_), Some(b)) => (Some(b), o.hi_inclusive),
            _ => (None, false),
        };
        Allowed {
            lo,
            lo_exclusive,
            hi,
            hi_inclusive,
        }
    }
}

/// Maven and Gradle versions: a plain version (Maven's soft requirement, which resolves to that
/// version), `[1.2.0]`, ranges `[1.1,1.4)`, `(,1.2]`, `[1.5,)` and unions of them; Gradle's
/// `1.2.+`, `+`, `latest.release` and strict `1.2.0!!`.
pub(super) fn maven_range(spec: &str) -> Option<Allowed> {
    let spec = spec.trim().trim_end_matches("!!");
    if spec == "+" || spec.starts_with("latest.") {
        return Some(Allowed::ANY);
    }
    if let Some(prefix) = spec.strip_suffix(".+") {
        let (v, n) = Version::parse_partial(prefix)?;
        return Some(Allowed::between(v, v.bump(n - 1)));
    }
    if !spec.starts_with(['[', '(']) {
        return Version::parse(spec).map(Allowed::exact);
    }
    let mut hull: Option<Allowed> = None;
    let mut rest = spec;
    while !rest.is_empty() {
        let end = rest.find([']', ')'])?;
        let (part, close) = (&rest[1..end], &rest[end..=end]);
        let open = &rest[..1];
        let one = match part.split_once(',') {
            None => Allowed::exact(Version::parse(part)?),
            Some((lo, hi)) => {
                let bound = |s: &str| {
                    let s = s.trim();
                    if s.is_empty() {
                        Some(None)
                    } else {
                        Version::parse(s).map(Some)
                    }
                };
                Allowed {
                    lo: bound(lo)?,
                    lo_exclusive: open == "(",
                    hi: bound(hi)?,
                    hi_inclusive: close == "]",
                }
            }
        };
        hull = Some(hull.map_or(one, |h| h.hull(one)));
        rest = rest[end + 1..].trim_start_matches([',', ' ']);
        if !rest.is_empty() && !rest.starts_with(['[', '(']) {
            return None;
        }
    }
    hull
}
