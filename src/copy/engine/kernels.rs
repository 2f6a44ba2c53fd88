//! The CPU kernels llama.cpp is compiled with in this binary, and whether this CPU can run them.
//!
//! llama-cpp-sys-2 compiles llama.cpp for the Rust target's features (`.cargo/config.toml`: on
//! x86, x86-64-v3, which is AVX2, FMA and F16C) plus the `GGML_*` options in the build's
//! environment. `make` adds `GGML_AVX512` and `GGML_AVX512_VNNI` on a machine that has those
//! instructions (`scripts/ggml-kernels.sh`): with 32 vector registers llama.cpp's 8-bit matrix
//! kernel computes three or four sequences against one read of the weights (with AVX2's 16
//! registers, two at a time), and VNNI does its byte dot products in one instruction (README
//! § The copy engine's kernels has the figures).
//!
//! Invariants:
//! - What llama.cpp was compiled with is asked of llama.cpp itself (`ggml_cpu_has_*`, which
//!   report its compile-time flags), never inferred from the environment of some build.
//! - [`missing`] names every optional instruction set llama.cpp was compiled with that this CPU
//!   lacks; the engine does not start while it is non-empty ([`super::EngineError::Kernels`]), so
//!   a binary built on one machine and run on an older one says what is wrong instead of dying of
//!   an illegal instruction inside llama.cpp.
//! - The decision ([`missing_of`]) is pure; [`compiled`] and [`cpu_has`] ask llama.cpp and the CPU.

/// The optional x86 instruction sets this module knows, by the names `is_x86_feature_detected!`
/// and `/proc/cpuinfo` use (`avx512f` for all of `GGML_AVX512`'s F, CD, VL, DQ and BW).
const OPTIONAL: [&str; 2] = ["avx512f", "avx512vnni"];

/// The optional instruction sets llama.cpp in this binary was compiled with.
pub fn compiled() -> Vec<&'static str> {
    #[cfg(feature = "llama")]
    {
        // SAFETY: both functions take nothing and return a constant of llama.cpp's build; they
        // touch no state and may be called before the backend is initialised.
        let (avx512, vnni) = unsafe {
            (
                llama_cpp_sys_2::ggml_cpu_has_avx512(),
                llama_cpp_sys_2::ggml_cpu_has_avx512_vnni(),
            )
        };
        OPTIONAL
            .into_iter()
            .zip([avx512, vnni])
            .filter(|(_, on)| *on != 0)
            .map(|(name, _)| name)
            .collect()
    }
    #[cfg(not(feature = "llama"))]
    Vec::new()
}

/// What llama.cpp's kernels use here, for logs and bench headers: the target's baseline and the
/// optional sets, e.g. `AVX2 + AVX-512 + VNNI`, `NEON`.
pub fn description() -> String {
    let base = if cfg!(target_arch = "x86_64") {
        if cfg!(target_feature = "avx2") {
            "AVX2"
        } else {
            "SSE2"
        }
    } else if cfg!(target_arch = "aarch64") || cfg!(target_feature = "neon") {
        "NEON"
    } else {
        "scalar"
    };
    let mut parts = vec![base];
    for set in compiled() {
        parts.push(if set == "avx512f" { "AVX-512" } else { "VNNI" });
    }
    parts.join(" + ")
}

/// The engine's default `pad_outputs` for this binary's kernels: 4 with llama.cpp's AVX2
/// kernels, where three rows of logits take longer than four; 1 (no padding) with its AVX-512
/// kernels, where three take less than four (README § The copy engine's kernels has the widths
/// and the A/B of a session's three picks).
pub fn default_pad_outputs() -> u32 {
    pad_outputs_for(&compiled())
}

/// [`default_pad_outputs`] for the sets in `compiled`.
fn pad_outputs_for(compiled: &[&str]) -> u32 {
    if compiled.contains(&"avx512f") {
        1
    } else {
        4
    }
}

/// The instruction sets llama.cpp in this binary needs that this CPU lacks.
pub fn missing() -> Vec<&'static str> {
    missing_of(&compiled(), cpu_has)
}

/// The sets of `compiled` that `has` says are absent, in order.
pub fn missing_of(compiled: &[&'static str], has: impl Fn(&str) -> bool) -> Vec<&'static str> {
    compiled.iter().copied().filter(|set| !has(set)).collect()
}

/// Whether this CPU has `set` (one of [`OPTIONAL`]); `avx512f` stands for the five sets
/// `GGML_AVX512` compiles in. Off x86-64 llama.cpp has none of them: always true.
pub fn cpu_has(set: &str) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        match set {
            "avx512f" => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512cd")
                    && std::arch::is_x86_feature_detected!("avx512vl")
                    && std::arch::is_x86_feature_detected!("avx512dq")
                    && std::arch::is_x86_feature_detected!("avx512bw")
            }
            "avx512vnni" => std::arch::is_x86_feature_detected!("avx512vnni"),
            _ => false,
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = set;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_set_llama_cpp_was_compiled_with_is_required() {
        let none = |_: &str| false;
        assert!(missing_of(&[], none).is_empty());
        assert_eq!(missing_of(&OPTIONAL, none), OPTIONAL);
        assert_eq!(missing_of(&OPTIONAL, |s| s != "avx512vnni"), ["avx512vnni"]);
        assert!(missing_of(&OPTIONAL, |_| true).is_empty());
    }

    #[test]
    fn rows_are_padded_only_for_the_avx2_kernels() {
        assert_eq!(pad_outputs_for(&[]), 4);
        assert_eq!(pad_outputs_for(&["avx512f", "avx512vnni"]), 1);
    }

    #[test]
    fn this_cpu_runs_what_this_build_compiled() {
        // The tests run on the machine that built them, and `make` compiles only what the CPU
        // has (scripts/ggml-kernels.sh).
        assert_eq!(
            missing(),
            Vec::<&str>::new(),
            "built with {}",
            description()
        );
        #[cfg(target_arch = "x86_64")]
        assert!(description().starts_with("AVX2"), "{}", description());
    }
}
