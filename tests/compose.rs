//! `docker-compose.yml` stays consistent with the repository: every file or directory it
//! mounts from the repository exists, the commands name the binaries the Dockerfile installs,
//! and every eppd configuration under `deploy/` parses with eppd's own `Config`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repository root")
        .to_owned()
}

fn compose() -> Yaml {
    let text = std::fs::read_to_string(repo().join("docker-compose.yml")).expect("read compose");
    let mut docs = YamlLoader::load_from_str(&text).expect("valid YAML");
    assert_eq!(docs.len(), 1);
    docs.remove(0)
}

fn services(doc: &Yaml) -> Vec<(String, &Yaml)> {
    doc["services"]
        .as_hash()
        .expect("services")
        .iter()
        .map(|(k, v)| (k.as_str().expect("service name").to_owned(), v))
        .collect()
}

/// `./host/path:/container/path[:ro]` volumes that come from the repository.
fn bind_mounts(service: &Yaml) -> Vec<(String, String)> {
    service["volumes"]
        .as_vec()
        .map(|v| {
            v.iter()
                .filter_map(Yaml::as_str)
                .filter(|s| s.starts_with("./"))
                .map(|s| {
                    let mut parts = s.split(':');
                    let host = parts.next().expect("host path").to_owned();
                    let container = parts.next().expect("container path").to_owned();
                    (host, container)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn command(service: &Yaml) -> Vec<String> {
    service["command"]
        .as_vec()
        .map(|v| {
            v.iter()
                .filter_map(Yaml::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_mounted_file_exists() {
    let doc = compose();
    let mut mounts = 0;
    for (name, service) in services(&doc) {
        for (host, _) in bind_mounts(service) {
            let path = repo().join(&host);
            assert!(
                path.exists(),
                "service {name} mounts {host}, which does not exist"
            );
            mounts += 1;
        }
    }
    assert!(
        mounts >= 6,
        "expected the deploy/ files to be mounted, found {mounts}"
    );
}

#[test]
fn services_run_the_workspace_binaries() {
    let doc = compose();
    let all = services(&doc);
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    for wanted in ["postgres", "eppd-1", "eppd-2", "zonegen", "knot"] {
        assert!(names.contains(&wanted), "no service {wanted} in {names:?}");
    }
    let dockerfile = std::fs::read_to_string(repo().join("Dockerfile")).expect("Dockerfile");
    for (name, service) in &all {
        let cmd = command(service);
        let Some(bin) = cmd.first() else { continue };
        if ["eppd", "zonegen", "registry-admin", "epp-cli"].contains(&bin.as_str()) {
            assert!(
                dockerfile.contains(&format!("/{bin} "))
                    || dockerfile.contains(&format!("/{bin}\n")),
                "service {name} runs {bin}, which the Dockerfile does not install"
            );
            // registry-admin may take its database from REGISTRY_DB instead of a config file.
            if bin == "registry-admin" && !service["environment"]["REGISTRY_DB"].is_badvalue() {
                continue;
            }
            // The config file it is given is one of the mounts.
            let config = cmd
                .iter()
                .skip_while(|a| *a != "--config")
                .nth(1)
                .unwrap_or_else(|| panic!("service {name}: no --config"));
            assert!(
                bind_mounts(service).iter().any(|(_, c)| c == config),
                "service {name}: --config {config} is not mounted"
            );
        }
    }
}

#[test]
fn every_eppd_config_in_deploy_parses() {
    let mut n = 0;
    for entry in std::fs::read_dir(repo().join("deploy")).expect("deploy/") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_owned();
        if name.starts_with("eppd") && name.ends_with(".toml") {
            let config =
                eppd::Config::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(config.metrics.is_some(), "{name}: metrics should be on");
            n += 1;
        }
    }
    assert_eq!(n, 2, "expected deploy/eppd-1.toml and deploy/eppd-2.toml");
    let one = eppd::Config::load(&repo().join("deploy/eppd-1.toml")).expect("eppd-1");
    let two = eppd::Config::load(&repo().join("deploy/eppd-2.toml")).expect("eppd-2");
    assert_ne!(one.server.instance_label, two.server.instance_label);
    assert_eq!(
        one.database.url, two.database.url,
        "the frontends share one database"
    );
}

/// Least privilege (README, "Database roles"): the schema's owner migrates, in a one-shot
/// service the others wait for; the frontends and the publisher connect as their own roles,
/// which deploy/postgres-roles.sh makes members of the groups the migrations grant to.
#[test]
fn services_use_least_privilege_roles() {
    let doc = compose();
    let all = services(&doc);
    let migrate = all
        .iter()
        .find(|(n, _)| n == "migrate")
        .map(|(_, s)| *s)
        .expect("a migrate service");
    assert_eq!(command(migrate), ["registry-admin", "migrate"]);
    let owner_url = migrate["environment"]["REGISTRY_DB"]
        .as_str()
        .expect("REGISTRY_DB");
    assert!(owner_url.starts_with("postgres://epp:"), "{owner_url}");
    for (name, user) in [
        ("eppd-1", "eppd"),
        ("eppd-2", "eppd"),
        ("zonegen", "zonegen"),
    ] {
        let service = all
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| *s)
            .unwrap();
        assert_eq!(
            service["depends_on"]["migrate"]["condition"].as_str(),
            Some("service_completed_successfully"),
            "{name} must wait for the migration"
        );
        let file = if name == "zonegen" {
            "deploy/zonegen.toml".to_owned()
        } else {
            format!("deploy/{name}.toml")
        };
        let text = std::fs::read_to_string(repo().join(&file)).expect("config");
        assert!(
            text.contains(&format!("postgres://{user}@postgres")),
            "{file} must connect as {user}, not as the owner"
        );
    }
    let roles = std::fs::read_to_string(repo().join("deploy/postgres-roles.sh")).expect("roles");
    for line in ["eppd LOGIN", "zonegen LOGIN", "IN ROLE epp_frontend"] {
        assert!(
            roles.contains(line),
            "deploy/postgres-roles.sh lacks {line:?}"
        );
    }
    let postgres = all
        .iter()
        .find(|(n, _)| n == "postgres")
        .map(|(_, s)| *s)
        .unwrap();
    assert!(
        bind_mounts(postgres)
            .iter()
            .any(|(h, c)| h.ends_with("deploy/postgres-roles.sh")
                && c.starts_with("/docker-entrypoint-initdb.d/")),
        "postgres must run deploy/postgres-roles.sh at initdb"
    );
}
