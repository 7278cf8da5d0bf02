"""taostream's deepstream_configs/check/ stage (described in the next commit)."""
