"""taostream's inference/backends/ stage (described in the next commit)."""
