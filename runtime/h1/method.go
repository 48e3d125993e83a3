package h1

// Method is an HTTP method as a bit, like nginx's NGX_HTTP_* method values,
// so handlers can test membership in a set with one AND.
type Method uint32

// Methods nginx knows by name; anything else is MethodUnknown.
const (
	MethodUnknown Method = 1 << iota
	MethodGET
	MethodHEAD
	MethodPOST
	MethodPUT
	MethodDELETE
	MethodMKCOL
	MethodCOPY
	MethodMOVE
	MethodOPTIONS
	MethodPROPFIND
	MethodPROPPATCH
	MethodLOCK
	MethodUNLOCK
	MethodPATCH
	MethodTRACE
	MethodCONNECT
)

// lookupMethod maps a method token to its Method, as the switch in
// ngx_http_parse_request_line does.
func lookupMethod(m []byte) Method {
	switch len(m) {
	case 3:
		switch string(m) {
		case "GET":
			return MethodGET
		case "PUT":
			return MethodPUT
		}
	case 4:
		switch string(m) {
		case "POST":
			return MethodPOST
		case "HEAD":
			return MethodHEAD
		case "COPY":
			return MethodCOPY
		case "MOVE":
			return MethodMOVE
		case "LOCK":
			return MethodLOCK
		}
	case 5:
		switch string(m) {
		case "MKCOL":
			return MethodMKCOL
		case "PATCH":
			return MethodPATCH
		case "TRACE":
			return MethodTRACE
		}
	case 6:
		switch string(m) {
		case "DELETE":
			return MethodDELETE
		case "UNLOCK":
			return MethodUNLOCK
		}
	case 7:
		switch string(m) {
		case "OPTIONS":
			return MethodOPTIONS
		case "CONNECT":
			return MethodCONNECT
		}
	case 8:
		if string(m) == "PROPFIND" {
			return MethodPROPFIND
		}
	case 9:
		if string(m) == "PROPPATCH" {
			return MethodPROPPATCH
		}
	}
	return MethodUnknown
}
