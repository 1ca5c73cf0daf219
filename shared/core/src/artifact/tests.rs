use std::collections::BTreeMap;
use std::sync::Mutex;

use super::*;
use crate::ports::{ObjectHead, ObjectListing};

/// (bucket, key) → (ETag, version id).
type Objects = BTreeMap<(String, String), (String, Option<String>)>;

/// S3 and ECR as maps: (bucket, key) → (etag, version); (repository, tag) → digest. A missing entry
/// answers the error the test names.
#[derive(Default)]
struct Reads {
    objects: Mutex<Objects>,
    tags: Mutex<BTreeMap<(String, String), String>>,
    denied_buckets: Vec<String>,
    throttled: bool,
}

impl Reads {
    fn object(self, bucket: &str, key: &str, etag: &str, version: Option<&str>) -> Self {
        self.objects.lock().unwrap().insert(
            (bucket.into(), key.into()),
            (format!("\"{etag}\""), version.map(str::to_owned)),
        );
        self
    }

    fn tag(self, repository: &str, tag: &str, digest: &str) -> Self {
        self.tags
            .lock()
            .unwrap()
            .insert((repository.into(), tag.into()), digest.into());
        self
    }
}

impl ObjectStore for Reads {
    async fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectHead, ArtifactReadError> {
        if self.throttled {
            return Err(ArtifactReadError::Transient("SlowDown".into()));
        }
        if self.denied_buckets.iter().any(|b| b == bucket) {
            return Err(ArtifactReadError::Denied(format!("s3://{bucket}/{key}")));
        }
        let objects = self.objects.lock().unwrap();
        let (etag, version_id) = objects
            .get(&(bucket.to_owned(), key.to_owned()))
            .cloned()
            .ok_or_else(|| ArtifactReadError::Missing(format!("s3://{bucket}/{key}")))?;
        Ok(ObjectHead { etag, version_id })
    }

    async fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        max: usize,
    ) -> Result<ObjectListing, ArtifactReadError> {
        let objects = self.objects.lock().unwrap();
        let all: Vec<(String, String)> = objects
            .iter()
            .filter(|((b, k), _)| b == bucket && k.starts_with(prefix))
            .map(|((_, k), (etag, _))| (k.clone(), etag.clone()))
            .collect();
        Ok(ObjectListing {
            truncated: all.len() > max,
            objects: all.into_iter().take(max).collect(),
        })
    }
}

impl ImageRegistry for Reads {
    async fn image_digest(&self, image: &EcrImage, tag: &str) -> Result<String, ArtifactReadError> {
        self.tags
            .lock()
            .unwrap()
            .get(&(image.repository.clone(), tag.to_owned()))
            .cloned()
            .ok_or_else(|| ArtifactReadError::Missing(format!("{}:{tag}", image.repository)))
    }
}

const IMAGE: &str = "111122223333.dkr.ecr.us-east-1.amazonaws.com/fraud/serve:1.4";
const DIGEST_A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const DIGEST_B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn container(data: Option<ModelData>) -> ContainerArtifact {
    ContainerArtifact {
        image: Some(IMAGE.into()),
        model_data: data,
        ..ContainerArtifact::default()
    }
}

fn object_container() -> Vec<ContainerArtifact> {
    vec![container(Some(ModelData::Object(
        "s3://models/fraud/model.tar.gz".into(),
    )))]
}

fn read(reads: &Reads, containers: &[ContainerArtifact]) -> ArtifactFingerprint {
    futures_lite_block_on(fingerprint(containers, reads, reads)).unwrap()
}

/// A tiny executor: the reads above never wait.
fn futures_lite_block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut future = std::pin::pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
}

#[test]
fn an_object_and_a_tagged_image_are_read_into_their_etag_version_and_digest() {
    let reads = Reads::default()
        .object("models", "fraud/model.tar.gz", "e1", Some("v1"))
        .tag("fraud/serve", "1.4", DIGEST_A);
    let print = read(&reads, &object_container());
    assert_eq!(
        print.containers,
        vec![ContainerFingerprint {
            model_data: Some(Part::S3Object {
                uri: "s3://models/fraud/model.tar.gz".into(),
                etag: "e1".into(),
                version_id: Some("v1".into()),
            }),
            image: Some(Part::Image {
                uri: IMAGE.into(),
                digest: DIGEST_A.into(),
            }),
        }]
    );
    assert!(print.is_verified());
    assert!(compare(&print, &read(&reads, &object_container())).matches());
}

#[test]
fn an_object_overwritten_after_approval_is_a_change() {
    let reads = Reads::default()
        .object("models", "fraud/model.tar.gz", "e1", Some("v1"))
        .tag("fraud/serve", "1.4", DIGEST_A);
    let approved = read(&reads, &object_container());
    let reads = reads.object("models", "fraud/model.tar.gz", "e2", Some("v2"));
    let check = compare(&approved, &read(&reads, &object_container()));
    assert_eq!(check.changed.len(), 1, "{check:?}");
    assert!(
        check.changed[0].contains("ETag e2, version v2"),
        "{check:?}"
    );
    assert!(check.changed[0].contains("approved: ETag e1, version v1"));
}

#[test]
fn the_same_bytes_written_again_as_a_new_version_is_still_a_change() {
    let reads = Reads::default()
        .object("models", "fraud/model.tar.gz", "e1", Some("v1"))
        .tag("fraud/serve", "1.4", DIGEST_A);
    let approved = read(&reads, &object_container());
    let reads = reads.object("models", "fraud/model.tar.gz", "e1", Some("v2"));
    assert!(!compare(&approved, &read(&reads, &object_container())).matches());
}

#[test]
fn a_tag_moved_to_another_digest_is_a_change() {
    let reads = Reads::default()
        .object("models", "fraud/model.tar.gz", "e1", None)
        .tag("fraud/serve", "1.4", DIGEST_A);
    let approved = read(&reads, &object_container());
    let reads = reads.tag("fraud/serve", "1.4", DIGEST_B);
    let check = compare(&approved, &read(&reads, &object_container()));
    assert_eq!(check.changed.len(), 1);
    assert!(check.changed[0].contains(DIGEST_B), "{check:?}");
}

#[test]
fn an_image_pinned_by_digest_needs_no_registry_read() {
    let pinned = format!("111122223333.dkr.ecr.us-east-1.amazonaws.com/fraud/serve@{DIGEST_A}");
    let containers = vec![ContainerArtifact {
        image: Some(pinned.clone()),
        ..ContainerArtifact::default()
    }];
    let print = read(&Reads::default(), &containers);
    assert_eq!(
        print.containers[0].image,
        Some(Part::Image {
            uri: pinned,
            digest: DIGEST_A.into()
        })
    );
}

#[test]
fn unreadable_parts_are_unverifiable_with_their_reason_never_a_match() {
    let reads = Reads {
        denied_buckets: vec!["models".into()],
        ..Reads::default()
    };
    let containers = vec![ContainerArtifact {
        image: Some("docker.io/library/python:3.11".into()),
        model_data: Some(ModelData::Object("s3://models/fraud/model.tar.gz".into())),
        ..ContainerArtifact::default()
    }];
    let print = read(&reads, &containers);
    let reasons = print.unverifiable();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons[0].contains("access denied"), "{reasons:?}");
    assert!(
        reasons[1].contains("not an Amazon ECR registry"),
        "{reasons:?}"
    );
    assert!(!print.is_verified());
    // Unreadable at approval and unreadable now: still not a match.
    let check = compare(&print, &read(&reads, &containers));
    assert!(!check.matches());
    assert!(check.changed.is_empty());
    assert_eq!(check.unverifiable.len(), 2);
}

#[test]
fn a_deleted_object_is_unverifiable_not_a_match() {
    let reads = Reads::default()
        .object("models", "fraud/model.tar.gz", "e1", None)
        .tag("fraud/serve", "1.4", DIGEST_A);
    let approved = read(&reads, &object_container());
    reads.objects.lock().unwrap().clear();
    let check = compare(&approved, &read(&reads, &object_container()));
    assert!(!check.matches());
    assert!(check.unverifiable[0].contains("not found"), "{check:?}");
}

#[test]
fn a_throttled_read_fails_the_fingerprint_so_the_message_is_retried() {
    let reads = Reads {
        throttled: true,
        ..Reads::default()
    };
    let error =
        futures_lite_block_on(fingerprint(&object_container(), &reads, &reads)).unwrap_err();
    assert!(error.is_retryable());
}

#[test]
fn a_prefix_is_a_digest_of_its_objects_and_any_object_changing_changes_it() {
    let reads = Reads::default()
        .object("models", "fraud/weights/a.bin", "e1", None)
        .object("models", "fraud/weights/b.bin", "e2", None)
        .tag("fraud/serve", "1.4", DIGEST_A);
    let containers = vec![container(Some(ModelData::Prefix(
        "s3://models/fraud/weights/".into(),
    )))];
    let approved = read(&reads, &containers);
    match &approved.containers[0].model_data {
        Some(Part::S3Prefix { objects, .. }) => assert_eq!(*objects, 2),
        other => panic!("{other:?}"),
    }
    let reads = reads.object("models", "fraud/weights/b.bin", "e3", None);
    assert!(!compare(&approved, &read(&reads, &containers)).matches());
    let reads = reads.object("models", "fraud/weights/b.bin", "e2", None);
    assert!(compare(&approved, &read(&reads, &containers)).matches());
}

#[test]
fn a_prefix_larger_than_one_page_is_unverifiable() {
    let mut reads = Reads::default().tag("fraud/serve", "1.4", DIGEST_A);
    for index in 0..=MAX_PREFIX_OBJECTS {
        reads = reads.object("models", &format!("big/{index:05}"), "e", None);
    }
    let containers = vec![container(Some(ModelData::Prefix(
        "s3://models/big/".into(),
    )))];
    let reasons = read(&reads, &containers).unverifiable();
    assert!(reasons[0].contains("more than 1000 objects"), "{reasons:?}");
}

#[test]
fn what_sagemaker_recorded_at_registration_is_checked() {
    let reads = Reads::default()
        .object("models", "fraud/model.tar.gz", "e1", None)
        .tag("fraud/serve", "1.4", DIGEST_A);
    let containers = vec![ContainerArtifact {
        image_digest: Some(DIGEST_B.into()),
        model_data_etag: Some("\"e0\"".into()),
        ..object_container().remove(0)
    }];
    let print = read(&reads, &containers);
    assert_eq!(print.registered_mismatches.len(), 2, "{print:?}");
    assert!(!print.is_verified());
    let matching = vec![ContainerArtifact {
        image_digest: Some(DIGEST_A.into()),
        model_data_etag: Some("e1".into()),
        ..object_container().remove(0)
    }];
    assert!(read(&reads, &matching).is_verified());
}

#[test]
fn a_container_added_or_a_uri_changed_is_a_change() {
    let reads = Reads::default()
        .object("models", "fraud/model.tar.gz", "e1", None)
        .object("models", "fraud/other.tar.gz", "e1", None)
        .tag("fraud/serve", "1.4", DIGEST_A);
    let approved = read(&reads, &object_container());
    let two = [object_container(), object_container()].concat();
    assert!(!compare(&approved, &read(&reads, &two)).changed.is_empty());
    let moved = vec![container(Some(ModelData::Object(
        "s3://models/fraud/other.tar.gz".into(),
    )))];
    let check = compare(&approved, &read(&reads, &moved));
    assert!(check.changed[0].contains("is now s3://models/fraud/other.tar.gz"));
}

#[test]
fn ecr_image_uris_are_split_and_other_registries_refused() {
    let image = parse_ecr_image(IMAGE).unwrap();
    assert_eq!(image.registry_account, "111122223333");
    assert_eq!(image.region, "us-east-1");
    assert_eq!(image.repository, "fraud/serve");
    assert_eq!(image.reference, ImageReference::Tag("1.4".into()));
    let untagged = parse_ecr_image("111122223333.dkr.ecr.eu-west-1.amazonaws.com/serve").unwrap();
    assert_eq!(untagged.reference, ImageReference::Tag("latest".into()));
    assert!(parse_ecr_image("ghcr.io/org/serve:1").is_err());
    assert!(parse_ecr_image("abc.dkr.ecr.us-east-1.amazonaws.com/serve:1").is_err());
    assert!(parse_ecr_image("no-slash").is_err());
}

#[test]
fn containers_are_read_from_sagemaker_json() {
    let json = serde_json::json!({
        "Image": IMAGE,
        "ImageDigest": DIGEST_A,
        "ModelDataSource": {"S3DataSource": {"S3Uri": "s3://models/w/", "S3DataType": "S3Prefix", "CompressionType": "None"}},
    });
    let container = ContainerArtifact::from_json(&json);
    assert_eq!(
        container.model_data,
        Some(ModelData::Prefix("s3://models/w/".into()))
    );
    assert_eq!(container.image_digest.as_deref(), Some(DIGEST_A));
    let object = ContainerArtifact::from_json(&serde_json::json!({
        "ModelDataUrl": "s3://models/m.tar.gz", "ModelDataETag": "e1"
    }));
    assert_eq!(
        object.model_data,
        Some(ModelData::Object("s3://models/m.tar.gz".into()))
    );
    assert_eq!(object.model_data_etag.as_deref(), Some("e1"));
}

#[test]
fn a_fingerprint_round_trips_through_json_and_summarises_each_part() {
    let reads = Reads::default()
        .object("models", "fraud/model.tar.gz", "e1", Some("v1"))
        .tag("fraud/serve", "1.4", DIGEST_A);
    let print = read(&reads, &object_container());
    let json = serde_json::to_string(&print).unwrap();
    assert_eq!(
        serde_json::from_str::<ArtifactFingerprint>(&json).unwrap(),
        print
    );
    let summary = print.summary();
    assert!(
        summary.contains("s3://models/fraud/model.tar.gz = ETag e1, version v1"),
        "{summary}"
    );
    assert!(summary.contains(DIGEST_A), "{summary}");
}
