//! `deploy/lambda/`: the template is valid YAML, describes the function the runbook promises
//! (custom runtime, `bootstrap` from the build script's zip, VPC, timeout, reserved concurrency),
//! sets only settings AVA knows, and the deploy script passes every parameter it must.

use std::path::PathBuf;

use ava::config::Settings;
use figment::providers::Serialized;
use yaml_rust2::{Yaml, YamlLoader};

fn read(path: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_lambda_template_describes_the_function_and_names_only_real_settings() {
    let docs =
        YamlLoader::load_from_str(&read("deploy/lambda/template.yaml")).expect("template.yaml is YAML");
    let template = &docs[0];
    assert_eq!(template["Transform"].as_str(), Some("AWS::Serverless-2016-10-31"));
    let function = &template["Resources"]["IngressFunction"];
    assert_eq!(function["Type"].as_str(), Some("AWS::Serverless::Function"));
    let props = &function["Properties"];
    assert_eq!(props["Runtime"].as_str(), Some("provided.al2023"));
    assert_eq!(props["Handler"].as_str(), Some("bootstrap"));
    assert_eq!(props["CodeUri"].as_str(), Some("dist/bootstrap.zip"));
    let build = read("deploy/lambda/build.sh");
    assert!(
        build.contains(r#"dist="$here/dist""#) && build.contains(r#""$dist/bootstrap.zip""#),
        "build.sh makes the zip the template deploys (dist/bootstrap.zip beside it)"
    );
    let timeout = props["Timeout"].as_i64().expect("Timeout in seconds");
    // Above an enqueue (<= 1 s) plus a cold start; under API Gateway's 29-30 s integration limit.
    assert!((2..=29).contains(&timeout), "Timeout {timeout}");
    assert!(props["MemorySize"].as_i64().is_some_and(|m| m >= 128));
    assert!(!props["ReservedConcurrentExecutions"].is_badvalue());
    assert!(!props["VpcConfig"]["SubnetIds"].is_badvalue());
    assert!(!props["VpcConfig"]["SecurityGroupIds"].is_badvalue());

    // Every AVA_ variable is a settings key: a typo would silently configure nothing.
    let variables = props["Environment"]["Variables"]
        .as_hash()
        .expect("Environment.Variables");
    let mut fig = Settings::figment(None);
    let mut names = Vec::new();
    for (name, value) in variables {
        let name = name.as_str().expect("variable name");
        let key = name
            .strip_prefix("AVA_")
            .unwrap_or_else(|| panic!("{name}: AVA reads only AVA_ variables"))
            .to_lowercase()
            .replace("__", ".");
        // Values from !Sub/!Ref are resolved at deploy time: stand in a valid one.
        let value = match key.as_str() {
            "redis.url" => "redis://10.0.0.5:6379".to_owned(),
            "database.url" => "postgres://ava@10.0.0.6:5432/ava".to_owned(),
            "webhook.secret" => "from-secrets-manager".to_owned(),
            _ => match value {
                Yaml::Integer(n) => n.to_string(),
                other => other.as_str().expect("string value").to_owned(),
            },
        };
        fig = fig.merge(Serialized::default(&key, value));
        names.push(name.to_owned());
    }
    let settings = Settings::from_figment(fig).unwrap_or_else(|e| panic!("template settings: {e}"));
    settings
        .require_webhook_secret()
        .expect("the template sets the webhook secret");
    for required in ["AVA_WEBHOOK__SECRET", "AVA_REDIS__URL", "AVA_REDIS__PREFIX"] {
        assert!(names.iter().any(|n| n == required), "{required} missing");
    }

    // Parameters without a default are passed by deploy.sh; deploy.sh passes no unknown one.
    let deploy = read("deploy/lambda/deploy.sh");
    let parameters = template["Parameters"].as_hash().expect("Parameters");
    for (name, spec) in parameters {
        let name = name.as_str().unwrap();
        if spec["Default"].is_badvalue() {
            assert!(
                deploy.contains(&format!("\"{name}=")),
                "deploy.sh does not pass {name}"
            );
        }
    }
    // The `"Name=value" \` lines of the --parameter-overrides list.
    let passed = deploy.lines().filter_map(|line| {
        let (name, _) = line.trim().strip_prefix('"')?.split_once('=')?;
        name.chars().all(|c| c.is_ascii_alphanumeric()).then_some(name)
    });
    for name in passed {
        assert!(
            parameters.contains_key(&Yaml::String(name.to_owned())),
            "deploy.sh passes {name}, which the template does not declare"
        );
    }
}
