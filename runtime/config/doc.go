// Package config is the canonical runtime model of ngxkeep: the Go structs
// the built-in server and proxy run, and their HCL form.
//
// The runtime knows only this model, never nginx directive names: the
// translator (runtime/translate) turns an nginx configuration into it and
// resolves nginx's inheritance, so every location carries its effective
// settings. A setting left out takes the nginx default for the instance's
// version (Defaults), never the value of an enclosing block.
//
// # Schema
//
//	instance "NAME" {
//	  version                 = "1.22.1"   # nginx behaviour emulated (required)
//	  server_software         = "nginx/1.22.1"  # Server header; default "nginx/"+version
//	  worker_processes        = 2          # default 1
//	  worker_connections      = 4096       # per worker, listeners included; default 512
//	  worker_shutdown_timeout = "10s"      # default: unlimited
//
//	  server {
//	    listen {
//	      address        = "127.0.0.1:8080"  # "host:port", "[::1]:80", "*:80", "80"
//	      default_server = true
//	      backlog        = 511
//	    }
//	    server_names = ["example.com", "*.example.com", "www.example.*", "~^api\\d+\\.", ""]
//
//	    client_header_timeout              = "60s"   # total time to read a request head
//	    client_header_buffer_size          = "1k"
//	    large_client_header_buffers_number = 4
//	    large_client_header_buffers_size   = "8k"
//	    ignore_invalid_headers             = true
//	    underscores_in_headers             = false
//	    merge_slashes                      = true
//
//	    return { code = 301  text = "https://example.com/" }  # optional, answers everything
//
//	    unmatched { ... location settings ... }  # before/without a location match
//
//	    location {
//	      match    = "prefix"   # exact | prefix | prefix_noregex | regex | iregex | named
//	      path     = "/"        # or the regex, or "@name"
//	      internal = false
//
//	      keepalive_timeout         = "75s"   # "0" disables keep-alive
//	      keepalive_header_timeout  = "60s"   # adds "Keep-Alive: timeout=60"
//	      keepalive_requests        = 1000
//	      keepalive_time            = "1h"
//	      keepalive_min_timeout     = "0"     # 1.27.4+
//	      keepalive_disable         = ["msie6"]  # msie6, safari, or ["none"]
//	      lingering_close           = "on"    # off | on | always
//	      lingering_time            = "30s"
//	      lingering_timeout         = "5s"
//	      reset_timedout_connection = false
//	      client_body_timeout       = "60s"
//	      send_timeout              = "60s"
//	      client_max_body_size      = "1m"    # "0" = unlimited; k, m, g
//	      client_body_buffer_size   = "16k"
//	      chunked_transfer_encoding = true
//	      server_tokens             = "on"    # on | off | build
//	      msie_padding              = true
//	      absolute_redirect         = true
//	      server_name_in_redirect   = false
//	      port_in_redirect          = true
//	      default_type              = "text/plain"
//	      types                     = { html = "text/html", css = "text/css" }
//	      etag                      = true
//	      root                      = "/srv/www"   # or alias = "/srv/other/"
//	      index                     = ["index.html"]
//
//	      add_header { name = "X-Frame-Options"  value = "DENY"  always = false }
//	      error_page { codes = [500, 502]  uri = "/50x.html"  response_code = 200 }
//	      return     { code = 200  text = "hello\n" }   # or code = 302, text = URL
//
//	      location { ... nested ... }
//	    }
//	  }
//	}
//
// Durations use nginx's syntax and are parsed by ParseMsec ("500ms", "75s",
// "1h30m", a bare number is seconds); sizes by ParseSize/ParseOffset ("1k",
// "8m", "1g"). Decode reports syntax and schema errors with file:line:col and
// "did you mean" suggestions; Validate reports invalid values at the
// attribute that holds them. Encode writes a configuration back out
// deterministically.
package config
