package server

// findLocation selects the location for uri like ngx_http_core_find_location:
// an exact match wins; otherwise the longest prefix, then its nested
// locations; then, unless that prefix is "^~", the regexes of the level in
// order. redirect is set for nginx's auto-redirect (a proxied location
// "/x/" asked for as "/x").
func (sc *serverConf) findLocation(uri []byte) (loc *locConf, redirect bool) {
	loc, res := sc.root.find(uri)
	return loc, res == findRedirect
}

type findResult uint8

const (
	findDeclined findResult = iota // nothing matched
	findOK                         // exact or regex match: final
	findAgain                      // prefix match (nested levels may refine)
	findRedirect                   // auto redirect
)

func (lv *locLevel) find(uri []byte) (*locConf, findResult) {
	if lv == nil {
		return nil, findDeclined
	}
	var best *locConf
	res := findDeclined
	noRegex := false
	if lc, ok := lv.exact[string(uri)]; ok {
		return lc, findOK
	}
	for _, p := range lv.prefix {
		if len(p.name) <= len(uri) && string(uri[:len(p.name)]) == p.name {
			best, res = p, findAgain
			break
		}
	}
	if best == nil {
		// ngx_http_core_find_static_location: "/x/" asked for as "/x".
		for _, p := range lv.prefix {
			if p.autoRedirect && len(p.name) == len(uri)+1 && p.name[:len(uri)] == string(uri) {
				return p, findRedirect
			}
		}
		for _, e := range lv.exact {
			if e.autoRedirect && len(e.name) == len(uri)+1 && e.name[:len(uri)] == string(uri) {
				return e, findRedirect
			}
		}
	}
	if best != nil {
		noRegex = best.noRegex
		if best.nested != nil {
			if n, nres := best.nested.find(uri); n != nil {
				switch nres {
				case findOK, findRedirect:
					return n, nres
				case findAgain:
					best = n
				}
			}
		}
	}
	if !noRegex {
		for _, re := range lv.regex {
			if re.re.Match(uri) {
				if re.nested != nil {
					if n, _ := re.nested.find(uri); n != nil {
						return n, findOK
					}
				}
				return re, findOK
			}
		}
	}
	return best, res
}
