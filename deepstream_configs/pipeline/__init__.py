"""taostream's deepstream_configs/pipeline/ stage (described in the next commit)."""
