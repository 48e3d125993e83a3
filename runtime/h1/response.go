package h1

import "strconv"

// statusLines are nginx's reason phrases (ngx_http_status_lines). Codes
// not listed are written as "NNN " with an empty reason, as nginx does.
var statusLines = map[int]string{
	200: "200 OK", 201: "201 Created", 202: "202 Accepted", 204: "204 No Content",
	206: "206 Partial Content",
	301: "301 Moved Permanently", 302: "302 Moved Temporarily", 303: "303 See Other",
	304: "304 Not Modified", 307: "307 Temporary Redirect", 308: "308 Permanent Redirect",
	400: "400 Bad Request", 401: "401 Unauthorized", 402: "402 Payment Required",
	403: "403 Forbidden", 404: "404 Not Found", 405: "405 Not Allowed",
	406: "406 Not Acceptable", 408: "408 Request Time-out", 409: "409 Conflict",
	410: "410 Gone", 411: "411 Length Required", 412: "412 Precondition Failed",
	413: "413 Request Entity Too Large", 414: "414 Request-URI Too Large",
	415: "415 Unsupported Media Type", 416: "416 Requested Range Not Satisfiable",
	421: "421 Misdirected Request", 429: "429 Too Many Requests",
	500: "500 Internal Server Error", 501: "501 Not Implemented", 502: "502 Bad Gateway",
	503: "503 Service Temporarily Unavailable", 504: "504 Gateway Time-out",
	505: "505 HTTP Version Not Supported", 507: "507 Insufficient Storage",
}

// statusLineCache holds "HTTP/1.1 NNN Reason\r\n" for 100..999.
var statusLineCache = func() (t [1000][]byte) {
	for code := 100; code < 1000; code++ {
		s, ok := statusLines[code]
		if !ok {
			s = strconv.Itoa(code) + " "
		}
		t[code] = []byte("HTTP/1.1 " + s + "\r\n")
	}
	return
}()

// AppendStatusLine appends nginx's status line for code. The version is
// always HTTP/1.1, whatever the client sent.
func AppendStatusLine(dst []byte, code int) []byte {
	if code >= 100 && code < 1000 {
		return append(dst, statusLineCache[code]...)
	}
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(code), 10)
	return append(dst, " \r\n"...)
}

// Server token modes (server_tokens).
const (
	TokensOff = iota
	TokensOn
	TokensBuild
)

const msiePadding = "<!-- a padding to disable MSIE and Chrome friendly error page -->\r\n" +
	"<!-- a padding to disable MSIE and Chrome friendly error page -->\r\n" +
	"<!-- a padding to disable MSIE and Chrome friendly error page -->\r\n" +
	"<!-- a padding to disable MSIE and Chrome friendly error page -->\r\n" +
	"<!-- a padding to disable MSIE and Chrome friendly error page -->\r\n" +
	"<!-- a padding to disable MSIE and Chrome friendly error page -->\r\n"

// ErrorPage returns nginx's built-in page for status (the body of a
// special response) and whether one exists: 201, 204, 304 and codes
// without a page get an empty body. software is the footer text with
// server_tokens on ("nginx/1.22.1"); padding adds the MSIE/Chrome padding
// nginx appends to 4xx/5xx pages for those browsers.
func ErrorPage(status int, software string, tokens int, padding bool) []byte {
	key := status
	if key == 498 {
		key = 404 // "canceled" uses the 404 page
	}
	page, ok := errorPages[key]
	if !ok {
		return nil
	}
	foot := "nginx"
	if tokens != TokensOff {
		foot = software
	}
	b := make([]byte, 0, len(page)+len(foot)+64+len(msiePadding))
	b = append(b, page...)
	b = append(b, "<hr><center>"...)
	b = append(b, foot...)
	b = append(b, "</center>\r\n</body>\r\n</html>\r\n"...)
	if padding && status >= 400 {
		b = append(b, msiePadding...)
	}
	return b
}

// AppendHTTPDate appends t (seconds since the epoch) in the HTTP date
// format nginx uses ("Mon, 28 Sep 1970 06:00:00 GMT").
func AppendHTTPDate(dst []byte, unix int64) []byte {
	const days = "SunMonTueWedThuFriSat"
	const months = "JanFebMarAprMayJunJulAugSepOctNovDec"
	// civil-from-days (Howard Hinnant), UTC
	sec := unix % 86400
	day := unix / 86400
	if sec < 0 {
		sec += 86400
		day--
	}
	wd := (day + 4) % 7
	if wd < 0 {
		wd += 7
	}
	z := day + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	dst = append(dst, days[wd*3:wd*3+3]...)
	dst = append(dst, ", "...)
	dst = append2(dst, int(d))
	dst = append(dst, ' ')
	dst = append(dst, months[(m-1)*3:(m-1)*3+3]...)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, y, 10)
	dst = append(dst, ' ')
	dst = append2(dst, int(sec/3600))
	dst = append(dst, ':')
	dst = append2(dst, int(sec/60%60))
	dst = append(dst, ':')
	dst = append2(dst, int(sec%60))
	return append(dst, " GMT"...)
}

func append2(dst []byte, n int) []byte {
	return append(dst, byte('0'+n/10), byte('0'+n%10))
}
