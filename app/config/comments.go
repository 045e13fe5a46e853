package config

import "slices"

// Comments holds the moderation policy of readers' comments (app/comments).
type Comments struct {
	// Moderation decides which new comments wait for the admin's approval:
	// "all", "first" (a reader's comments until one is approved) or
	// "none". An admin's own comments are never held.
	Moderation string
	// CloseAfterDays closes a post's comments that many days after it was
	// published; 0 keeps them open (the per-post switch still applies).
	CloseAfterDays int
}

// Moderation policies.
const (
	ModerateAll   = "all"
	ModerateFirst = "first"
	ModerateNone  = "none"
)

// defaultsComments are the defaults of the comments block.
func defaultsComments(c *Config) {
	c.Comments = Comments{Moderation: ModerateFirst}
}

func (c *Config) commentsSettings() []setting {
	return []setting{
		{key: "comments.moderation", kind: "string", str: &c.Comments.Moderation},
		{key: "comments.close_after_days", kind: "int", num: &c.Comments.CloseAfterDays},
	}
}

// validateComments checks the comments block.
func (c *Config) validateComments(bad func(key, format string, args ...any) error) error {
	if !slices.Contains([]string{ModerateAll, ModerateFirst, ModerateNone}, c.Comments.Moderation) {
		return bad("comments.moderation", "must be all, first or none, not %q", c.Comments.Moderation)
	}
	if c.Comments.CloseAfterDays < 0 || c.Comments.CloseAfterDays > 36500 {
		return bad("comments.close_after_days", "must be between 0 (never) and 36500, not %d", c.Comments.CloseAfterDays)
	}
	return nil
}
