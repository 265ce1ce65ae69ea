//! A job's resources: the notebook container's (after the config), with the job's `resources`
//! shorthand on top; and how many GPUs a set of resources holds. A GPU is any extended
//! resource whose name ends in `/gpu` (`nvidia.com/gpu`, `amd.com/gpu`). Pure: rendering and
//! the GPU checks before submission both ask here, so they cannot disagree.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::pipeline::{ResourceSpec, quantity};

/// The GPU resource a job's `gpu: N` sets when the notebook names none (or several).
pub(crate) const DEFAULT_GPU_RESOURCE: &str = "nvidia.com/gpu";

/// Whether a resource name is a GPU (`nvidia.com/gpu`, `amd.com/gpu`, …).
pub(crate) fn is_gpu(name: &str) -> bool {
    name.ends_with("/gpu")
}

/// The GPUs `resources` ask for: for each `*/gpu` resource its limit, else its request (an
/// extended resource's request must equal its limit, and defaults to it), summed. A value that
/// is not a whole number (Kubernetes refuses those) counts its whole part.
pub(crate) fn gpus(resources: Option<&ResourceRequirements>) -> u64 {
    let Some(resources) = resources else {
        return 0;
    };
    let names = |map: &Option<BTreeMap<String, Quantity>>| -> Vec<String> {
        map.iter().flatten().map(|(k, _)| k.clone()).collect()
    };
    let mut keys = names(&resources.limits);
    keys.extend(names(&resources.requests));
    keys.sort();
    keys.dedup();
    keys.iter()
        .filter(|k| is_gpu(k))
        .map(|k| {
            let value = [&resources.limits, &resources.requests]
                .into_iter()
                .find_map(|map| map.as_ref()?.get(k))
                .and_then(|q| quantity::parse(&q.0))
                .unwrap_or(0.0);
            // Saturating: a quantity is at most 2^63 - 1, and whole parts only.
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "a parsed quantity is finite and non-negative; `as` saturates"
            )]
            let whole = value.floor() as u64;
            whole
        })
        .fold(0, u64::saturating_add)
}

/// The job's resources: `base` with `spec` on top. `cpu` and `memory` set both request and
/// limit, so the job gets what it asked for. `gpu: N` sets the notebook's GPU resource (its one
/// `*/gpu` key, else `nvidia.com/gpu`) to N in both; `gpu: 0` removes every `*/gpu` key from
/// both. `None` when nothing is left.
pub(crate) fn job_resources(
    base: Option<&ResourceRequirements>,
    spec: &ResourceSpec,
) -> Option<ResourceRequirements> {
    if spec.is_empty() {
        return base.cloned();
    }
    let mut resources = base.cloned().unwrap_or_default();
    for (key, value) in [("cpu", &spec.cpu), ("memory", &spec.memory)] {
        if let Some(value) = value {
            set_quantity(&mut resources, key, value);
        }
    }
    if let Some(gpu) = &spec.gpu {
        let mut held: Vec<String> = [&resources.limits, &resources.requests]
            .into_iter()
            .flat_map(|map| map.iter().flatten().map(|(k, _)| k.clone()))
            .filter(|k| is_gpu(k))
            .collect();
        held.sort();
        held.dedup();
        if quantity::parse(gpu).is_some_and(|n| n == 0.0) {
            for map in [&mut resources.limits, &mut resources.requests]
                .into_iter()
                .flatten()
            {
                map.retain(|k, _| !is_gpu(k));
            }
        } else {
            let key = match held.as_slice() {
                [only] => only.clone(),
                _ => DEFAULT_GPU_RESOURCE.to_owned(),
            };
            set_quantity(&mut resources, &key, gpu);
        }
    }
    for map in [&mut resources.limits, &mut resources.requests] {
        if map.as_ref().is_some_and(BTreeMap::is_empty) {
            *map = None;
        }
    }
    (resources != ResourceRequirements::default()).then_some(resources)
}

fn set_quantity(resources: &mut ResourceRequirements, key: &str, value: &str) {
    for map in [&mut resources.requests, &mut resources.limits] {
        map.get_or_insert_with(BTreeMap::new)
            .insert(key.to_owned(), Quantity(value.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requirements(limits: &[(&str, &str)], requests: &[(&str, &str)]) -> ResourceRequirements {
        let map = |pairs: &[(&str, &str)]| {
            (!pairs.is_empty()).then(|| {
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), Quantity((*v).to_owned())))
                    .collect()
            })
        };
        ResourceRequirements {
            limits: map(limits),
            requests: map(requests),
            ..ResourceRequirements::default()
        }
    }

    fn gpu(n: &str) -> ResourceSpec {
        ResourceSpec {
            gpu: Some(n.to_owned()),
            ..ResourceSpec::default()
        }
    }

    #[test]
    fn every_kind_of_gpu_counts_once() {
        let both = requirements(
            &[("nvidia.com/gpu", "2"), ("amd.com/gpu", "1"), ("cpu", "4")],
            &[("nvidia.com/gpu", "2"), ("cpu", "1")],
        );
        assert_eq!(gpus(Some(&both)), 3);
        let requested_only = requirements(&[], &[("nvidia.com/gpu", "1")]);
        assert_eq!(gpus(Some(&requested_only)), 1);
        assert_eq!(gpus(Some(&requirements(&[("cpu", "8")], &[]))), 0);
        assert_eq!(gpus(None), 0);
        // `gpu` alone is no extended resource name.
        assert_eq!(gpus(Some(&requirements(&[("gpu", "1")], &[]))), 0);
    }

    #[test]
    fn gpu_zero_removes_every_gpu_from_requests_and_limits() {
        let base = requirements(
            &[
                ("nvidia.com/gpu", "1"),
                ("amd.com/gpu", "1"),
                ("memory", "4Gi"),
            ],
            &[("nvidia.com/gpu", "1"), ("cpu", "500m")],
        );
        let job = job_resources(Some(&base), &gpu("0")).expect("memory and cpu stay");
        assert_eq!(job, requirements(&[("memory", "4Gi")], &[("cpu", "500m")]));
        assert_eq!(gpus(Some(&job)), 0);
        // Nothing left at all: no resources.
        let only_gpu = requirements(&[("nvidia.com/gpu", "1")], &[]);
        assert_eq!(job_resources(Some(&only_gpu), &gpu("0")), None);
        assert_eq!(job_resources(None, &gpu("0")), None);
    }

    #[test]
    fn gpu_n_sets_the_notebooks_gpu_resource() {
        let amd = requirements(&[("amd.com/gpu", "1")], &[("amd.com/gpu", "1")]);
        let job = job_resources(Some(&amd), &gpu("2")).expect("resources");
        assert_eq!(
            job,
            requirements(&[("amd.com/gpu", "2")], &[("amd.com/gpu", "2")])
        );
        let none = job_resources(None, &gpu("1")).expect("resources");
        assert_eq!(
            none,
            requirements(&[("nvidia.com/gpu", "1")], &[("nvidia.com/gpu", "1")])
        );
        let cpu = ResourceSpec {
            cpu: Some("2".into()),
            ..ResourceSpec::default()
        };
        let job = job_resources(Some(&amd), &cpu).expect("resources");
        assert_eq!(gpus(Some(&job)), 1, "the notebook's GPU is kept");
        assert_eq!(
            job_resources(Some(&amd), &ResourceSpec::default()),
            Some(amd)
        );
    }
}
