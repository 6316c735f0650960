// The stage's type shares the fn's name but not the value namespace: the fn stays callable and a `let`
// with the same name is an ordinary binding.
use workflow_core::prelude::*;

#[stage]
async fn count(input: String) -> Result<usize, StageError> {
    Ok(input.split_whitespace().count())
}

fn main() {
    let count_fn = count;
    let count = 5;
    assert_eq!(count, 5);
    let words = tokio::runtime::Runtime::new().unwrap().block_on(count_fn("a b c".to_owned())).unwrap();
    assert_eq!(words, 3);
    assert_eq!(<self::count as Stage>::ID, "count");
}
