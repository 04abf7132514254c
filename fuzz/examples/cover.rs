//! Picks the committed corpus: a greedy set cover of code edges under a size budget.
//!
//! `cover <merge control file> <out dir> <budget KB> [<pre-covered dir>]` reads the control file
//! a libFuzzer `-set_cover_merge=1 -use_counters=0 -merge_control_file=<file>` run wrote (each
//! input's path, size and every code edge it covers: its `FT` line, complete under
//! `set_cover_merge`, while `COV` lines list only edges no earlier input covered), counts the edges of inputs under `<pre-covered dir>` (the seeds, which are
//! rebuilt from tests/fixtures/ anyway) as covered, then repeatedly takes the input that adds the
//! most not-yet-covered edges per byte, until nothing adds an edge or the budget is spent, and
//! copies those inputs into `<out dir>`. `make fuzz` keeps the whole working corpus under
//! fuzz/target/ and commits this small one.

use std::collections::HashSet;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (control, out, budget_kb, pre) = match args.as_slice() {
        [_, c, o, b] => (c, o, b, None),
        [_, c, o, b, p] => (c, o, b, Some(p.as_str())),
        _ => {
            eprintln!(
                "usage: cover <merge control file> <out dir> <budget KB> [<pre-covered dir>]"
            );
            std::process::exit(2);
        }
    };
    let budget: usize = budget_kb.parse::<usize>().expect("budget in KB") * 1024;
    let text = std::fs::read_to_string(control).expect("control file");
    let mut lines = text.lines();
    let n: usize = lines
        .next()
        .and_then(|l| l.parse().ok())
        .expect("file count");
    let _first_dir: usize = lines
        .next()
        .and_then(|l| l.parse().ok())
        .expect("first dir count");
    let paths: Vec<&str> = lines.by_ref().take(n).collect();
    let mut sizes = vec![0usize; n];
    let mut covs: Vec<HashSet<u32>> = vec![HashSet::new(); n];
    for l in lines {
        let mut w = l.split_ascii_whitespace();
        match (w.next(), w.next().and_then(|i| i.parse::<usize>().ok())) {
            (Some("STARTED"), Some(i)) if i < n => {
                sizes[i] = w.next().and_then(|s| s.parse().ok()).unwrap_or(0);
            }
            (Some("FT"), Some(i)) if i < n => covs[i] = w.filter_map(|e| e.parse().ok()).collect(),
            _ => {}
        }
    }
    let all: HashSet<u32> = covs.iter().flatten().copied().collect();
    let is_pre = |i: usize| pre.is_some_and(|p| paths[i].starts_with(p));
    let mut covered: HashSet<u32> = (0..n)
        .filter(|&i| is_pre(i))
        .flat_map(|i| covs[i].iter().copied())
        .collect();
    let from_seeds = covered.len();
    let mut chosen = Vec::new();
    let mut used = 0;
    loop {
        // Most new edges per byte; a small fixed cost per file favours fewer, larger inputs a little.
        let best = (0..n)
            .filter(|&i| !is_pre(i) && used + sizes[i] <= budget)
            .map(|i| (i, covs[i].difference(&covered).count()))
            .filter(|&(_, gain)| gain > 0)
            .max_by(|a, b| {
                let score = |(i, g): (usize, usize)| g as f64 / (sizes[i] + 256) as f64;
                score(*a).total_cmp(&score(*b))
            });
        let Some((i, _)) = best else { break };
        covered.extend(covs[i].iter().copied());
        used += sizes[i];
        chosen.push(i);
    }
    std::fs::create_dir_all(out).expect("out dir");
    for &i in &chosen {
        let name = std::path::Path::new(paths[i])
            .file_name()
            .expect("file name");
        std::fs::copy(paths[i], std::path::Path::new(out).join(name)).expect("copy");
    }
    println!(
        "{} of {} inputs, {} KB; with the seeds' {} edges they cover {} of {} features (edges) ({:.1}%)",
        chosen.len(),
        n,
        used / 1024,
        from_seeds,
        covered.len(),
        all.len(),
        100.0 * covered.len() as f64 / all.len().max(1) as f64
    );
}
