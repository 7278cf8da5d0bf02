"""taostream's deepstream_configs/migrate/ stage (described in the next commit)."""
