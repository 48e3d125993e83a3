package upstream

import (
	"time"

	"github.com/ngxkeep/ngxkeep/runtime/config"
)

// parseDuration parses an nginx time value with the model's parser; empty
// input yields def.
func parseDuration(s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	return config.ParseMsec(s)
}

// parseSize parses an nginx size with the model's parser; empty input
// yields def.
func parseSize(s string, def int64) (int64, error) {
	if s == "" {
		return def, nil
	}
	return config.ParseSize(s)
}
