package translate

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/ngxkeep/ngxkeep/runtime/config"
	"github.com/zclconf/go-cty/cty/gocty"
)

// Encode renders a translated configuration as formatted HCL, the same
// text config.Encode writes plus a header and, before every block, the
// comment lines naming its nginx origin (from the Report of the
// translation that made cfg; r may be nil). The output is deterministic.
func Encode(cfg *config.Config, r *Report) []byte {
	f := hclwrite.NewEmptyFile()
	body := f.Body()
	var origins map[any][]string
	if r != nil {
		origins = r.origins
		var files []string
		for _, in := range r.Instances {
			files = append(files, in.File)
		}
		comment(body, fmt.Sprintf("ngxkeep runtime configuration, translated from %s for nginx %s.", strings.Join(files, ", "), r.Target))
		comment(body, "Every setting is written out: values nginx takes from its defaults are the "+r.Target.String()+" defaults.")
		comment(body, "Schema: ngxkeep translate --help.")
		body.AppendNewline()
	}
	e := encoder{origins: origins}
	for i, inst := range cfg.Instances {
		if i > 0 {
			body.AppendNewline()
		}
		e.block(body, reflect.ValueOf(inst), "instance")
	}
	return hclwrite.Format(f.Bytes())
}

func comment(body *hclwrite.Body, text string) {
	body.AppendUnstructuredTokens(hclwrite.Tokens{{Type: hclsyntax.TokenComment, Bytes: []byte("# " + text + "\n")}})
}

type encoder struct {
	origins map[any][]string
}

// block appends the block for v (a pointer to a model struct) to body,
// preceded by its origin comments.
func (e encoder) block(body *hclwrite.Body, v reflect.Value, name string) {
	if lines, ok := e.origins[v.Interface()]; ok {
		for _, l := range lines {
			comment(body, l)
		}
	}
	s := v.Elem()
	t := s.Type()
	var labels []string
	for i := 0; i < t.NumField(); i++ {
		if _, kind := hclTag(t.Field(i)); kind == "label" {
			labels = append(labels, s.Field(i).String())
		}
	}
	b := body.AppendNewBlock(name, labels)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		n, kind := hclTag(f)
		fv := s.Field(i)
		switch kind {
		case "attr", "optional":
			if kind == "optional" && isUnset(fv) && !alwaysWritten[t][n] {
				continue
			}
			if fv.Kind() == reflect.Pointer {
				fv = fv.Elem()
			}
			ty, err := gocty.ImpliedType(fv.Interface())
			if err != nil {
				panic(fmt.Sprintf("translate: cannot encode %s: %v", f.Name, err))
			}
			cv, err := gocty.ToCtyValue(fv.Interface(), ty)
			if err != nil {
				panic(fmt.Sprintf("translate: cannot encode %s: %v", f.Name, err))
			}
			b.Body().SetAttributeValue(n, cv)
		case "block":
			switch fv.Kind() {
			case reflect.Slice:
				for j := 0; j < fv.Len(); j++ {
					el := fv.Index(j)
					if el.Kind() == reflect.Pointer {
						if el.IsNil() {
							continue
						}
					} else {
						el = el.Addr()
					}
					e.block(b.Body(), el, n)
				}
			case reflect.Pointer:
				if !fv.IsNil() {
					e.block(b.Body(), fv, n)
				}
			}
		}
	}
}

// alwaysWritten are plain bool settings written even when false (which
// config.Encode leaves out): nginx settings with a default, and the cache
// switch, whose absence would read as "on".
var alwaysWritten = map[reflect.Type]map[string]bool{
	reflect.TypeOf(config.Keepalive{}): {"enabled": true, "local": true},
	reflect.TypeOf(config.Proxy{}):     {"intercept_errors": true, "ignore_client_abort": true},
}

// isUnset mirrors config.Encode: optional attributes that are nil, empty,
// false or zero are left out.
func isUnset(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return v.IsNil()
	case reflect.String, reflect.Slice, reflect.Map:
		return v.Len() == 0
	default:
		return v.IsZero()
	}
}

func hclTag(f reflect.StructField) (name, kind string) {
	tag, ok := f.Tag.Lookup("hcl")
	if !ok {
		return "", ""
	}
	name, kind, found := strings.Cut(tag, ",")
	if !found {
		kind = "attr"
	}
	return name, kind
}
