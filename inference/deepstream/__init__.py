"""taostream's inference/deepstream/ stage (described in the next commit)."""
