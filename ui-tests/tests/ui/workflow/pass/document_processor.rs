// The seed README's workflow: extract-text >> summarize >> (sentiment | keywords) >> aggregate.
use workflow_core::prelude::*;

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct DocInput {
    pub url: String,
}
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct Extracted {
    pub text: String,
}
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    pub summary: String,
}
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct Sentiment {
    pub score: f64,
}
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct Keywords {
    pub keywords: Vec<String>,
}
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct Report {
    pub summary: String,
    pub score: f64,
    pub keywords: Vec<String>,
}

#[stage(id = "extract-text")]
async fn extract_text(input: DocInput) -> Result<Extracted, StageError> {
    Ok(Extracted { text: input.url })
}

#[stage]
async fn summarize(input: Extracted) -> Result<Summary, StageError> {
    Ok(Summary { summary: input.text })
}

#[stage]
async fn sentiment(_input: Summary) -> Result<Sentiment, StageError> {
    Ok(Sentiment { score: 0.5 })
}

#[stage]
async fn keywords(ctx: &StageContext, input: Summary) -> Result<Keywords, StageError> {
    let extracted = ctx.require::<extract_text>()?;
    Ok(Keywords { keywords: vec![input.summary, extracted.text.clone()] })
}

#[stage]
async fn aggregate(ctx: &StageContext, input: (Sentiment, Keywords)) -> Result<Report, StageError> {
    let summary = ctx.require::<summarize>()?;
    let (sentiment, keywords) = input;
    Ok(Report { summary: summary.summary.clone(), score: sentiment.score, keywords: keywords.keywords })
}

workflow! {
    /// Extracts, summarizes and analyzes documents.
    pub DocumentProcessor = "document-processor" {
        name: "Document Processor",
        input: DocInput,
        stages: extract_text >> summarize >> (sentiment | keywords) >> aggregate,
    }
}

fn main() {
    let definition = DocumentProcessor::definition();
    assert_eq!(definition.id(), "document-processor");
    assert_eq!(definition.description(), Some("Extracts, summarizes and analyzes documents."));
    assert_eq!(
        definition.execution_plan(),
        [vec!["extract-text"], vec!["summarize"], vec!["sentiment", "keywords"], vec!["aggregate"]]
    );
}
