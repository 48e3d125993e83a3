package h1

// ChunkResult is the outcome of one ChunkedDecoder.Next call.
type ChunkResult int

// Chunked decoder results (the return codes of ngx_http_parse_chunked).
const (
	ChunkAgain   ChunkResult = iota // every byte consumed, more needed
	ChunkData                       // Remaining() bytes of data start here
	ChunkDone                       // the last chunk and trailers are complete
	ChunkInvalid                    // malformed framing: nginx answers 400
)

// chunked states (ngx_http_parse_chunked)
const (
	csChunkStart = iota
	csChunkSize
	csChunkExtension
	csChunkExtensionAlmostDone
	csChunkData
	csAfterData
	csAfterDataAlmostDone
	csLastChunkExtension
	csLastChunkExtensionAlmostDone
	csTrailer
	csTrailerAlmostDone
	csTrailerHeader
	csTrailerHeaderAlmostDone
	// csChunkSizeDone: a size line ended with the input; the chunk's data
	// state is entered with its first byte (ngx_http_parse_chunked says
	// NGX_OK, "a chunk has been parsed", only with a data byte at hand).
	csChunkSizeDone
)

const maxOff = 1<<63 - 1

// ChunkedDecoder decodes a chunked request body incrementally with the
// same acceptance rules as ngx_http_parse_chunked: hex sizes, extensions
// and trailers skipped, bare LF accepted, anything else rejected. The zero
// value is ready to use.
type ChunkedDecoder struct {
	state int
	size  int64
}

// Reset prepares d for a new body.
func (d *ChunkedDecoder) Reset() { *d = ChunkedDecoder{} }

// Remaining is the number of data bytes of the current chunk not yet
// consumed.
func (d *ChunkedDecoder) Remaining() int64 {
	if d.state == csChunkData {
		return d.size
	}
	return 0
}

// Consume marks n data bytes of the current chunk as read; n must not
// exceed Remaining.
func (d *ChunkedDecoder) Consume(n int64) { d.size -= n }

// Next parses framing bytes at the start of b and returns how many it
// consumed. With ChunkData the current chunk's data begins at b[n:], which
// holds at least one byte of it (it may continue beyond b); the caller
// consumes it with Consume before calling Next again. A size line that
// ends with b gives ChunkAgain, as in nginx. With ChunkDone, b[n:] already
// belongs to the next request.
func (d *ChunkedDecoder) Next(b []byte) (int, ChunkResult) {
	state := d.state
	switch {
	case state == csChunkSizeDone:
		state = csChunkData
	case state == csChunkData && d.size == 0:
		state = csAfterData
	}
	p := 0
	for ; p < len(b); p++ {
		ch := b[p]
		switch state {
		case csChunkStart:
			if ch >= '0' && ch <= '9' {
				state = csChunkSize
				d.size = int64(ch - '0')
				break
			}
			c := ch | 0x20
			if c >= 'a' && c <= 'f' {
				state = csChunkSize
				d.size = int64(c-'a') + 10
				break
			}
			return p, ChunkInvalid

		case csChunkSize:
			if d.size > maxOff/16 {
				return p, ChunkInvalid
			}
			if ch >= '0' && ch <= '9' {
				d.size = d.size*16 + int64(ch-'0')
				break
			}
			c := ch | 0x20
			if c >= 'a' && c <= 'f' {
				d.size = d.size*16 + int64(c-'a') + 10
				break
			}
			if d.size == 0 {
				switch ch {
				case '\r':
					state = csLastChunkExtensionAlmostDone
				case '\n':
					state = csTrailer
				case ';', ' ', '\t':
					state = csLastChunkExtension
				default:
					return p, ChunkInvalid
				}
				break
			}
			switch ch {
			case '\r':
				state = csChunkExtensionAlmostDone
			case '\n':
				state = csChunkData
			case ';', ' ', '\t':
				state = csChunkExtension
			default:
				return p, ChunkInvalid
			}

		case csChunkExtension:
			switch ch {
			case '\r':
				state = csChunkExtensionAlmostDone
			case '\n':
				state = csChunkData
			}

		case csChunkExtensionAlmostDone:
			if ch != '\n' {
				return p, ChunkInvalid
			}
			state = csChunkData

		case csChunkData:
			d.state = state
			if d.size > maxOff-5 {
				return p, ChunkInvalid
			}
			return p, ChunkData

		case csAfterData:
			switch ch {
			case '\r':
				state = csAfterDataAlmostDone
			case '\n':
				state = csChunkStart
			default:
				return p, ChunkInvalid
			}

		case csAfterDataAlmostDone:
			if ch != '\n' {
				return p, ChunkInvalid
			}
			state = csChunkStart

		case csLastChunkExtension:
			switch ch {
			case '\r':
				state = csLastChunkExtensionAlmostDone
			case '\n':
				state = csTrailer
			}

		case csLastChunkExtensionAlmostDone:
			if ch != '\n' {
				return p, ChunkInvalid
			}
			state = csTrailer

		case csTrailer:
			switch ch {
			case '\r':
				state = csTrailerAlmostDone
			case '\n':
				d.state = csChunkStart
				return p + 1, ChunkDone
			default:
				state = csTrailerHeader
			}

		case csTrailerAlmostDone:
			if ch != '\n' {
				return p, ChunkInvalid
			}
			d.state = csChunkStart
			return p + 1, ChunkDone

		case csTrailerHeader:
			switch ch {
			case '\r':
				state = csTrailerHeaderAlmostDone
			case '\n':
				state = csTrailer
			}

		case csTrailerHeaderAlmostDone:
			if ch != '\n' {
				return p, ChunkInvalid
			}
			state = csTrailer
		}
	}
	if state == csChunkData {
		// The size line ended exactly at the end of b: like nginx, say
		// nothing about the chunk (its size against
		// client_max_body_size) before a data byte arrives.
		state = csChunkSizeDone
	}
	d.state = state
	if d.size > maxOff-5 {
		return p, ChunkInvalid
	}
	return p, ChunkAgain
}
