//! The helper's own rules, over the in-process scripted model: batch results written once, streams
//! recorded when dropped early, child topics, configuration errors, and `ctx.ai()` in a unit test.

use super::*;
use futures::StreamExt;
use workflow_testing::{ScriptedModel, StageRun};

#[tokio::test]
async fn reading_batch_results_again_writes_no_second_set_of_rows() {
    let model = ScriptedModel::new(["one two"]);
    let ai = model.helper("workflow.r1.stage.batch");
    let batch = ai.batch("scripted");
    let handle = batch
        .submit(vec![
            BatchRequest::new("a", "first prompt"),
            BatchRequest::new("b", "second"),
        ])
        .await
        .unwrap();
    let first = batch.results(&handle).await.unwrap();
    let again = batch.results(&handle).await.unwrap();
    assert_eq!(
        first, again,
        "the same answers, with the same discounted cost"
    );
    let stats = ai.stats().await.unwrap();
    assert_eq!(stats.calls, 2, "one row per answer, not per read");
    let cost = first
        .iter()
        .map(|r| r.reply.as_ref().unwrap().cost)
        .sum::<f64>();
    assert!((stats.total_cost - cost).abs() < 1e-15);
    assert!(
        (cost - (2.0 + 1.0 + 4.0 + 4.0) / 2.0 / 1e6).abs() < 1e-15,
        "{cost}"
    );
}

#[tokio::test]
async fn a_stream_dropped_early_is_still_recorded() {
    let model = ScriptedModel::new(["one two three four"]);
    let ai = model.helper("docs.stream");
    let mut stream = ai.stream_text("scripted", "go").await.unwrap();
    assert_eq!(stream.next().await.unwrap().unwrap(), "one ");
    drop(stream);
    for _ in 0..100 {
        if ai.stats().await.unwrap().calls == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stats = ai.stats().await.unwrap();
    assert_eq!(stats.calls, 1, "the abandoned stream has its row");
}

#[tokio::test]
async fn a_parents_stats_include_its_childrens_calls() {
    let model = ScriptedModel::new(["ok"]);
    let stage = model.helper("workflow.r1.stage.summarize");
    stage.generate_text("scripted", "a").await.unwrap();
    let chunk = stage.child("chunk", Some("1"));
    assert_eq!(chunk.topic(), "workflow.r1.stage.summarize.chunk.1");
    chunk.generate_text("scripted", "b c").await.unwrap();
    assert_eq!(stage.stats().await.unwrap().calls, 2);
    assert_eq!(chunk.stats().await.unwrap().calls, 1);
    assert_eq!(chunk.stats().await.unwrap().input_tokens, 2);
}

#[tokio::test]
async fn configuration_errors_say_what_is_known() {
    let ai = ScriptedModel::default().helper("t");
    let unknown = ai
        .generate_text("gpt-9", "x")
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        unknown,
        "unknown model \"gpt-9\": register it with ModelRegistry::register (known models: scripted)"
    );
    let setup = AiSetup::new(
        ModelRegistry::empty().register(ModelSpec::new("m", "nowhere", "x")),
        Providers::empty(),
    );
    let unrouted = ai
        .with_setup(setup)
        .generate_text("m", "x")
        .await
        .unwrap_err();
    assert!(
        unrouted
            .to_string()
            .contains("provider \"nowhere\", which is not configured"),
        "{unrouted}"
    );
}

/// Calls the scripted model from a stage body.
#[stage]
pub async fn greet(ctx: &StageContext, name: String) -> Result<String, StageError> {
    Ok(ctx
        .ai()
        .generate_text("scripted", format!("Greet {name}."))
        .await?
        .value)
}

#[tokio::test]
async fn a_stage_unit_test_sees_the_calls_cost_in_its_metrics() {
    let model = ScriptedModel::new(["Hello, Ada!"]);
    let report = StageRun::new()
        .ai(model.setup())
        .execute::<greet>("Ada".into(), NoConfig::default())
        .await;
    assert_eq!(report.output().unwrap(), "Hello, Ada!");
    assert_eq!(report.recorded.metrics["totalTokens"], 4);
    assert!((report.recorded.metrics["totalCost"].as_f64().unwrap() - 6.0 / 1e6).abs() < 1e-15);
    assert_eq!(model.prompts()[0].text, "Greet Ada.");

    let unbound = StageRun::new()
        .execute::<greet>("Ada".into(), NoConfig::default())
        .await;
    let error = unbound.output().unwrap_err().to_string();
    assert!(error.contains("this AI helper has no call log"), "{error}");
}
