"""taostream's plugins/ stage (described in the next commit)."""
