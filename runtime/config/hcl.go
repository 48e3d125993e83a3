package config

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty/gocty"
)

// Decode parses an HCL runtime configuration. Diagnostics carry source
// ranges (file:line:col); unknown attributes and blocks get hcl's "did you
// mean" suggestions. Decode does not validate values: call Validate.
func Decode(filename string, src []byte) (*Config, hcl.Diagnostics) {
	p := hclparse.NewParser()
	f, diags := p.ParseHCL(src, filename)
	if diags.HasErrors() {
		// One syntax error often cascades; the first is the useful one.
		return nil, diags[:1]
	}
	var cfg Config
	diags = append(diags, gohcl.DecodeBody(f.Body, nil, &cfg)...)
	if diags.HasErrors() {
		return nil, diags
	}
	return &cfg, diags
}

// Encode renders cfg as HCL. The output is deterministic: blocks and
// attributes in schema order, unset optional settings omitted, map keys
// sorted. Decode(Encode(cfg)) yields cfg again (ranges aside).
func Encode(cfg *Config) []byte {
	f := hclwrite.NewEmptyFile()
	body := f.Body()
	for i, inst := range cfg.Instances {
		if i > 0 {
			body.AppendNewline()
		}
		body.AppendBlock(encodeBlock(reflect.ValueOf(inst).Elem(), "instance"))
	}
	return hclwrite.Format(f.Bytes())
}

func encodeBlock(v reflect.Value, name string) *hclwrite.Block {
	t := v.Type()
	var labels []string
	for i := 0; i < t.NumField(); i++ {
		if _, kind := hclTag(t.Field(i)); kind == "label" {
			labels = append(labels, v.Field(i).String())
		}
	}
	b := hclwrite.NewBlock(name, labels)
	body := b.Body()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		n, kind := hclTag(f)
		fv := v.Field(i)
		switch kind {
		case "attr", "optional":
			if kind == "optional" && isUnset(fv) {
				continue
			}
			if fv.Kind() == reflect.Pointer {
				fv = fv.Elem()
			}
			ty, err := gocty.ImpliedType(fv.Interface())
			if err != nil {
				panic(fmt.Sprintf("config: cannot encode %s: %v", f.Name, err))
			}
			cv, err := gocty.ToCtyValue(fv.Interface(), ty)
			if err != nil {
				panic(fmt.Sprintf("config: cannot encode %s: %v", f.Name, err))
			}
			body.SetAttributeValue(n, cv)
		case "block":
			switch fv.Kind() {
			case reflect.Slice:
				for j := 0; j < fv.Len(); j++ {
					e := fv.Index(j)
					if e.Kind() == reflect.Pointer {
						if e.IsNil() {
							continue
						}
						e = e.Elem()
					}
					body.AppendBlock(encodeBlock(e, n))
				}
			case reflect.Pointer:
				if !fv.IsNil() {
					body.AppendBlock(encodeBlock(fv.Elem(), n))
				}
			}
		}
	}
	return b
}

// isUnset reports whether an optional attribute is absent: nil pointers,
// empty strings, slices and maps, and false/0 for plain bools and ints
// (whose zero value is also their default).
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
