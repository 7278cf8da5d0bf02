"""taostream's converter/model/ stage (described in the next commit)."""
