"""taostream's deepstream_configs/triton/ stage (described in the next commit)."""
