"""taostream's inference/evaluate/ stage (described in the next commit)."""
