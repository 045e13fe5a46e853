package config_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"site/app/config"
)

// TestEverySettingRoundTrips writes one site.hcl that gives every setting a
// value of its own, then checks that each value lands in its field with the
// file:line it came from, and that no field of Config (but Source) is left
// that site.hcl cannot set: a field added without its line in the settings
// list fails here.
func TestEverySettingRoundTrips(t *testing.T) {
	def := config.Default()
	defs := config.Settings(&def)
	keys := make([]string, 0, len(defs))
	for k := range defs {
		keys = append(keys, k)
	}
	// Top-level settings first, then block by block.
	slices.SortFunc(keys, func(a, b string) int {
		if ta, tb := !strings.Contains(a, "."), !strings.Contains(b, "."); ta != tb {
			if ta {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})

	var body strings.Builder
	line := 0
	emit := func(format string, args ...any) {
		fmt.Fprintf(&body, format+"\n", args...)
		line++
	}
	want := map[string]any{}     // key -> value expected in its field
	wantLine := map[string]int{} // key -> line of the file
	block := ""
	for i, key := range keys {
		b, name, nested := strings.Cut(key, ".")
		if !nested {
			b, name = "", key
		}
		if b != block {
			if block != "" {
				emit("}")
			}
			emit("%s {", b)
			block = b
		}
		var lit string
		switch p := defs[key].(type) {
		case *string:
			v := "v-" + key
			lit, want[key] = fmt.Sprintf("%q", v), v
		case *[]string:
			v := []string{key + "-a", key + "-b"}
			lit, want[key] = fmt.Sprintf("[%q, %q]", v[0], v[1]), v
		case *time.Duration:
			v := time.Duration(1000+i) * time.Second
			lit, want[key] = fmt.Sprintf("%q", v.String()), v
		case *int:
			v := 7000 + i
			lit, want[key] = fmt.Sprint(v), v
		case *bool:
			lit, want[key] = fmt.Sprint(!*p), !*p
		default:
			t.Fatalf("%s: field of type %T", key, p)
		}
		emit("  %s = %s", name, lit)
		wantLine[key] = line
	}
	emit("}")

	cfg := config.Default()
	places := config.Places{}
	if err := cfg.LoadFile(writeConfig(t, body.String()), places); err != nil {
		t.Fatalf("%v\n%s", err, body.String())
	}
	got := config.Settings(&cfg)
	for _, key := range keys {
		if v := reflect.ValueOf(got[key]).Elem().Interface(); !reflect.DeepEqual(v, want[key]) {
			t.Errorf("%s = %#v, want %#v", key, v, want[key])
		}
		if w, l := places.Where(key), fmt.Sprintf("site.hcl:%d", wantLine[key]); w != l {
			t.Errorf("%s: place %q, want %q", key, w, l)
		}
	}

	// Every field must have taken a value the file gave it. A field no
	// setting points at keeps its default; two settings pointing at one
	// field leave the first one's value lost (reported above).
	settable := map[any]bool{}
	for _, p := range got {
		settable[p] = true
	}
	leaves(reflect.ValueOf(&cfg).Elem(), "Config", func(path string, f reflect.Value) {
		if path == "Config.Source" {
			return
		}
		if !settable[f.Addr().Interface()] {
			t.Errorf("%s: no site.hcl setting sets it (add it to the settings list in load.go or worker.go)", path)
		}
	})
}

// leaves calls fn with every field of v that is not itself a struct.
func leaves(v reflect.Value, path string, fn func(string, reflect.Value)) {
	for i := range v.NumField() {
		f, p := v.Field(i), path+"."+v.Type().Field(i).Name
		if f.Kind() == reflect.Struct {
			leaves(f, p, fn)
			continue
		}
		fn(p, f)
	}
}

// TestFlagsNameSettings checks that every setting flag overrides a setting
// site.hcl has; otherwise the flag would be accepted and do nothing.
func TestFlagsNameSettings(t *testing.T) {
	def := config.Default()
	settings := config.Settings(&def)
	for flag, key := range config.FlagSettings() {
		if _, ok := settings[key]; !ok {
			t.Errorf("flag --%s names %q, which is no setting", flag, key)
		}
	}
}
