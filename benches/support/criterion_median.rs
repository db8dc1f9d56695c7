//! The median of a criterion benchmark, read back from the sample criterion
//! saved in this run. Criterion's own summary line (`time: [low estimate
//! high]`) is the mean with its bootstrap interval; the figures the README
//! gives are medians, so the benchmarks print them here: the median of the
//! per-iteration times of the run's samples (each sample's time over its
//! iterations), and criterion's bootstrap 95 % interval of that median.

use serde_json::Value;
use std::path::PathBuf;
use std::time::SystemTime;

/// Where criterion writes its results, in the order criterion itself looks:
/// `$CRITERION_HOME`, `$CARGO_TARGET_DIR/criterion`, cargo's target
/// directory, `target/criterion`.
fn output_directory() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(target).join("criterion");
    }
    let metadata = std::env::var_os("CARGO").and_then(|cargo| {
        let output = std::process::Command::new(cargo)
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .output()
            .ok()?;
        let metadata: Value = serde_json::from_slice(&output.stdout).ok()?;
        Some(PathBuf::from(metadata["target_directory"].as_str()?))
    });
    metadata
        .unwrap_or_else(|| PathBuf::from("target"))
        .join("criterion")
}

fn read(path: &std::path::Path, since: SystemTime) -> Option<Value> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    // A second of slack for file systems with coarse timestamps: a run takes longer.
    if modified + std::time::Duration::from_secs(1) < since {
        return None;
    }
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

fn ms(nanoseconds: f64) -> String {
    format!("{:.3} ms", nanoseconds / 1e6)
}

/// Prints the median of benchmark `id` (its directory under criterion's, such
/// as `onboarding/managed`) as measured since `since`; says so when this run
/// saved no sample (criterion's test mode, a filter that skipped it, or
/// `--baseline`, which saves nothing).
pub fn print_median(id: &str, since: SystemTime) {
    let new = output_directory().join(id).join("new");
    let (Some(sample), Some(estimates)) = (
        read(&new.join("sample.json"), since),
        read(&new.join("estimates.json"), since),
    ) else {
        println!("{id}: no sample saved by this run, so no median");
        return;
    };
    let numbers = |key: &str| -> Vec<f64> {
        sample[key]
            .as_array()
            .map(|values| values.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default()
    };
    let mut per_iteration: Vec<f64> = numbers("times")
        .iter()
        .zip(numbers("iters"))
        .map(|(time, iterations)| time / iterations)
        .collect();
    if per_iteration.is_empty() {
        println!("{id}: the saved sample is empty");
        return;
    }
    per_iteration.sort_by(f64::total_cmp);
    let count = per_iteration.len();
    let median = match count % 2 {
        1 => per_iteration[count / 2],
        _ => (per_iteration[count / 2 - 1] + per_iteration[count / 2]) / 2.0,
    };
    let iterations: f64 = numbers("iters").iter().sum();
    let interval = &estimates["median"]["confidence_interval"];
    let bound = |key: &str| interval[key].as_f64().map_or("?".into(), ms);
    println!(
        "{id}: median {} per iteration over {count} samples ({iterations} iterations); \
         bootstrap 95 % interval of the median [{} {}]; samples {} to {}",
        ms(median),
        bound("lower_bound"),
        bound("upper_bound"),
        ms(per_iteration[0]),
        ms(per_iteration[count - 1]),
    );
}
