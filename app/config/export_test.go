package config

// Settings maps every dotted key site.hcl accepts to the address of the
// field of c it sets: a *string, *[]string, *time.Duration, *int or *bool.
func Settings(c *Config) map[string]any {
	out := map[string]any{}
	for _, list := range c.settings() {
		for _, st := range list {
			out[st.key] = st.target()
		}
	}
	return out
}

func (st setting) target() any {
	switch st.kind {
	case "list":
		return st.list
	case "duration":
		return st.dur
	case "int":
		return st.num
	case "bool":
		return st.flag
	}
	return st.str
}

// FlagSettings maps every setting flag to the key it overrides.
func FlagSettings() map[string]string {
	out := map[string]string{}
	for _, k := range flagKeys {
		out[k] = k
		if s, ok := flagSetting[k]; ok {
			out[k] = s
		}
	}
	return out
}
