"""taostream's deepstream_configs/specs/ stage (described in the next commit)."""
