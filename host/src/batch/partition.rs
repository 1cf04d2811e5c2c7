//! `ctest batch --partition`: a deterministic share of a job file's jobs, so
//! that N machines of a CI engine (or N pods of an Indexed Job) each run one
//! shard and `ctest merge-reports` puts the shards back together.
//!
//! - `hash:K/N`: a job belongs to shard `1 + h(tenant/id) mod N`, h the first
//!   eight bytes of its BLAKE3 hash: a job keeps its shard when other jobs are
//!   added or removed.
//! - `slice:K/N`: the jobs in file order, dealt round-robin: the shards'
//!   sizes differ by one at most.
//!
//! K is 1-based, as in nextest. `--partition hash` (or `slice`) alone takes
//! K and N from the engine: GitLab's `CI_NODE_INDEX`/`CI_NODE_TOTAL`
//! (1-based), Buildkite's `BUILDKITE_PARALLEL_JOB`/
//! `BUILDKITE_PARALLEL_JOB_COUNT` (0-based), or a Kubernetes Indexed Job's
//! `JOB_COMPLETION_INDEX` (0-based) with `--partition-total N`. Without
//! `--partition`, GitLab's and Buildkite's variables select a `hash` shard
//! on their own, since every parallel copy of the job would otherwise run all
//! of the jobs.

use serde::{Deserialize, Serialize};

/// How jobs are dealt to shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Hash,
    Slice,
}

/// One shard of N.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partition {
    pub mode: Mode,
    /// 1-based.
    pub shard: usize,
    pub total: usize,
    /// Where K and N came from: `--partition`, or the engine's variables.
    pub from: String,
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match self.mode {
            Mode::Hash => "hash",
            Mode::Slice => "slice",
        };
        write!(
            f,
            "shard {}/{} ({mode}, from {})",
            self.shard, self.total, self.from
        )
    }
}

const FIX: &str = "fix: --partition hash:K/N or slice:K/N, K from 1 to N (for example hash:1/3); or --partition hash on GitLab (`parallel:`), Buildkite (`parallelism:`) or a Kubernetes Indexed Job (with --partition-total N)";

impl Partition {
    /// The shard `--partition ARG` (and `--partition-total`) asks for,
    /// reading the engine's variables through `env` when ARG has no `K/N`;
    /// without `--partition`, the shard GitLab's or Buildkite's variables
    /// give, if any.
    pub fn resolve(
        arg: Option<&str>,
        total: Option<usize>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Partition>, String> {
        let Some(arg) = arg else {
            if let Some(total) = total {
                return Err(format!(
                    "--partition-total {total} without --partition\n  {FIX}"
                ));
            }
            return Ok(
                from_engine(env, None)?.map(|(shard, total, from)| Partition {
                    mode: Mode::Hash,
                    shard,
                    total,
                    from,
                }),
            );
        };
        let (mode, rest) = match arg.split_once(':') {
            Some((m, rest)) => (m, Some(rest)),
            None => (arg, None),
        };
        let mode = match mode {
            "hash" => Mode::Hash,
            "slice" => Mode::Slice,
            other => {
                return Err(format!(
                    "--partition {arg:?}: unknown mode {other:?}\n  {FIX}"
                ));
            }
        };
        let (shard, total, from) = match rest {
            Some(rest) => {
                if total.is_some() {
                    return Err(format!(
                        "--partition {arg:?} gives N; --partition-total is for a shard index from the engine\n  {FIX}"
                    ));
                }
                let parsed = rest.split_once('/').and_then(|(k, n)| {
                    Some((k.trim().parse::<usize>().ok()?, n.trim().parse::<usize>().ok()?))
                });
                let Some((shard, total)) = parsed else {
                    return Err(format!("--partition {arg:?}: K/N are not two numbers\n  {FIX}"));
                };
                (shard, total, "--partition".to_string())
            }
            None => from_engine(env, total)?.ok_or_else(|| {
                format!(
                    "--partition {arg:?} without K/N, and no CI engine gives a shard: none of CI_NODE_INDEX (GitLab), BUILDKITE_PARALLEL_JOB (Buildkite), JOB_COMPLETION_INDEX (Kubernetes) is set\n  {FIX}"
                )
            })?,
        };
        if total == 0 || shard == 0 || shard > total {
            return Err(format!(
                "--partition {arg:?} (from {from}): shard {shard} of {total} does not exist\n  {FIX}"
            ));
        }
        Ok(Some(Partition {
            mode,
            shard,
            total,
            from,
        }))
    }

    /// Whether the job at `position` in the file, `tenant/id`, is this
    /// shard's.
    pub fn selects(&self, position: usize, tenant: &str, id: &str) -> bool {
        let n = self.total as u64;
        let at = match self.mode {
            Mode::Slice => position as u64 % n,
            Mode::Hash => {
                let hash = blake3::hash(format!("{tenant}/{id}").as_bytes());
                let first: [u8; 8] = hash.as_bytes()[..8].try_into().unwrap_or_default();
                u64::from_le_bytes(first) % n
            }
        };
        at + 1 == self.shard as u64
    }
}

/// The 1-based shard and total the engine's variables give (`total` is
/// `--partition-total`, which Kubernetes needs), and where they came from.
fn from_engine(
    env: &dyn Fn(&str) -> Option<String>,
    total: Option<usize>,
) -> Result<Option<(usize, usize, String)>, String> {
    let number = |var: &str| -> Result<Option<usize>, String> {
        match env(var) {
            None => Ok(None),
            Some(v) if v.trim().is_empty() => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| format!("{var}={v:?} is not a number\n  {FIX}")),
        }
    };
    let pair = |index: &str,
                count: &str,
                base: usize,
                engine: &str|
     -> Result<Option<(usize, usize, String)>, String> {
        match (number(index)?, number(count)?) {
            (Some(i), Some(n)) => Ok(Some((
                i + 1 - base,
                n,
                format!("{engine}'s {index}/{count}"),
            ))),
            (Some(_), None) => Err(format!("{index} is set but {count} is not\n  {FIX}")),
            _ => Ok(None),
        }
    };
    if let Some(found) = pair("CI_NODE_INDEX", "CI_NODE_TOTAL", 1, "GitLab")? {
        return Ok(Some(found));
    }
    if let Some(found) = pair(
        "BUILDKITE_PARALLEL_JOB",
        "BUILDKITE_PARALLEL_JOB_COUNT",
        0,
        "Buildkite",
    )? {
        return Ok(Some(found));
    }
    match (number("JOB_COMPLETION_INDEX")?, total) {
        (Some(i), Some(n)) => Ok(Some((
            i + 1,
            n,
            "Kubernetes' JOB_COMPLETION_INDEX and --partition-total".into(),
        ))),
        (Some(_), None) => Err(
            "JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) is set, but not how many shards there are\n  fix: pass --partition-total N, N the Job's `completions`"
                .to_string(),
        ),
        (None, Some(_)) => Err(format!(
            "--partition-total is given, but JOB_COMPLETION_INDEX is not set\n  {FIX}"
        )),
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    fn resolve(
        arg: Option<&str>,
        total: Option<usize>,
        vars: &'static [(&'static str, &'static str)],
    ) -> Result<Option<Partition>, String> {
        Partition::resolve(arg, total, &env(vars))
    }

    fn shard_of(p: &Option<Partition>) -> (usize, usize) {
        let p = p.as_ref().expect("a shard");
        (p.shard, p.total)
    }

    #[test]
    fn every_job_is_in_exactly_one_shard_and_slices_are_even() {
        let jobs: Vec<(String, String)> = (0..101)
            .map(|i| (format!("t{}", i % 7), format!("job-{i}")))
            .collect();
        for mode in [Mode::Hash, Mode::Slice] {
            let shards: Vec<Partition> = (1..=4)
                .map(|shard| Partition {
                    mode,
                    shard,
                    total: 4,
                    from: String::new(),
                })
                .collect();
            let mut sizes = [0usize; 4];
            for (i, (t, id)) in jobs.iter().enumerate() {
                let owners: Vec<usize> = shards
                    .iter()
                    .filter(|p| p.selects(i, t, id))
                    .map(|p| p.shard)
                    .collect();
                assert_eq!(owners.len(), 1, "{mode:?} {t}/{id}: {owners:?}");
                sizes[owners[0] - 1] += 1;
            }
            if mode == Mode::Slice {
                assert_eq!(sizes, [26, 25, 25, 25]);
            } else {
                assert!(
                    sizes.iter().all(|&n| n > 10),
                    "hash spreads the jobs: {sizes:?}"
                );
            }
        }
    }

    #[test]
    fn a_hash_shard_keeps_its_jobs_when_others_are_added_or_removed() {
        let p = Partition {
            mode: Mode::Hash,
            shard: 2,
            total: 3,
            from: String::new(),
        };
        let mine: Vec<usize> = (0..50)
            .filter(|&i| p.selects(i, "acme", &format!("j{i}")))
            .collect();
        // The same jobs at other places in the file (one removed before
        // them, some added): the same shard.
        for &i in &mine {
            assert!(p.selects(i + 7, "acme", &format!("j{i}")));
        }
    }

    #[test]
    fn the_shard_comes_from_the_flag_or_the_engine() {
        assert_eq!(
            shard_of(&resolve(Some("hash:2/3"), None, &[]).unwrap()),
            (2, 3)
        );
        assert_eq!(
            resolve(Some("slice:1/1"), None, &[]).unwrap().unwrap().mode,
            Mode::Slice
        );
        // GitLab is 1-based, Buildkite and Kubernetes 0-based.
        let gitlab = &[("CI_NODE_INDEX", "2"), ("CI_NODE_TOTAL", "3")];
        assert_eq!(
            shard_of(&resolve(Some("hash"), None, gitlab).unwrap()),
            (2, 3)
        );
        let auto = resolve(None, None, gitlab).unwrap();
        assert_eq!(shard_of(&auto), (2, 3));
        assert_eq!(
            auto.as_ref().unwrap().from,
            "GitLab's CI_NODE_INDEX/CI_NODE_TOTAL"
        );
        let buildkite = &[
            ("BUILDKITE_PARALLEL_JOB", "1"),
            ("BUILDKITE_PARALLEL_JOB_COUNT", "3"),
        ];
        assert_eq!(
            shard_of(&resolve(Some("slice"), None, buildkite).unwrap()),
            (2, 3)
        );
        let k8s = &[("JOB_COMPLETION_INDEX", "1")];
        assert_eq!(
            shard_of(&resolve(Some("hash"), Some(3), k8s).unwrap()),
            (2, 3)
        );
        // Kubernetes alone does not shard without the total; nothing set, no shard.
        assert!(
            resolve(None, None, k8s)
                .unwrap_err()
                .contains("--partition-total N")
        );
        assert_eq!(resolve(None, None, &[]).unwrap(), None);
        // The flag's K/N wins over the engine's.
        assert_eq!(
            shard_of(&resolve(Some("hash:1/2"), None, gitlab).unwrap()),
            (1, 2)
        );
    }

    #[test]
    fn a_shard_that_cannot_exist_is_refused_with_the_fix() {
        for (arg, total, vars, says) in [
            ("hash:0/3", None, &[][..], "shard 0 of 3 does not exist"),
            ("hash:4/3", None, &[], "shard 4 of 3 does not exist"),
            ("hash:1/0", None, &[], "shard 1 of 0 does not exist"),
            ("count:1/2", None, &[], "unknown mode \"count\""),
            ("hash:a/b", None, &[], "are not two numbers"),
            ("hash", None, &[], "no CI engine gives a shard"),
            ("hash:1/2", Some(2), &[], "--partition-total is for"),
            (
                "hash",
                None,
                &[("CI_NODE_INDEX", "x"), ("CI_NODE_TOTAL", "2")][..],
                "CI_NODE_INDEX=\"x\" is not a number",
            ),
            (
                "hash",
                None,
                &[("CI_NODE_INDEX", "1")][..],
                "CI_NODE_TOTAL is not",
            ),
            (
                "hash",
                None,
                &[("CI_NODE_INDEX", "0"), ("CI_NODE_TOTAL", "2")][..],
                "shard 0 of 2",
            ),
        ] {
            let e = Partition::resolve(Some(arg), total, &|k| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            })
            .unwrap_err();
            assert!(e.contains(says), "{arg}: {e}");
            assert!(e.contains("fix:"), "{arg}: {e}");
        }
    }
}
