"""taostream's converter/engine/ stage (described in the next commit)."""
