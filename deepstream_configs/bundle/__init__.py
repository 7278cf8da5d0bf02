"""taostream's deepstream_configs/bundle/ stage (described in the next commit)."""
