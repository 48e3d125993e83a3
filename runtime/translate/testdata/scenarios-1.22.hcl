# ngxkeep runtime configuration, translated from testdata/scenarios/box1-frontend.conf, testdata/scenarios/box2-backend.conf for nginx 1.22.
# Every setting is written out: values nginx takes from its defaults are the 1.22 defaults.
# Schema: ngxkeep translate --help.

# from testdata/scenarios/box1-frontend.conf (nginx 1.22)
instance "box1-frontend" {
  version            = "1.22"
  server_software    = "nginx/1.22"
  worker_processes   = 2
  worker_connections = 4096
  # from testdata/scenarios/box1-frontend.conf:11:5
  server {
    # from testdata/scenarios/box1-frontend.conf:12:9
    listen {
      address = "*:18080"
      backlog = 511
    }
    server_names                       = [""]
    client_header_timeout              = "60s"
    client_header_buffer_size          = "1k"
    large_client_header_buffers_number = 4
    large_client_header_buffers_size   = "8k"
    ignore_invalid_headers             = true
    underscores_in_headers             = false
    merge_slashes                      = true
    # settings before a location is chosen and when none matches (server at testdata/scenarios/box1-frontend.conf:11:5)
    # every setting is the nginx 1.22 default
    unmatched {
      keepalive_timeout         = "75s"
      keepalive_requests        = 1000
      keepalive_time            = "1h"
      keepalive_disable         = ["msie6"]
      lingering_close           = "on"
      lingering_time            = "30s"
      lingering_timeout         = "5s"
      reset_timedout_connection = false
      client_body_timeout       = "60s"
      send_timeout              = "60s"
      client_max_body_size      = "1m"
      client_body_buffer_size   = "8k"
      chunked_transfer_encoding = true
      server_tokens             = "on"
      msie_padding              = true
      absolute_redirect         = true
      server_name_in_redirect   = false
      port_in_redirect          = true
      default_type              = "text/plain"
      types = {
        gif  = "image/gif"
        html = "text/html"
        jpg  = "image/jpeg"
      }
      etag  = true
      root  = "html"
      index = ["index.html"]
    }
    # from testdata/scenarios/box1-frontend.conf:14:9
    # every setting is the nginx 1.22 default
    location {
      match                     = "prefix"
      path                      = "/"
      keepalive_timeout         = "75s"
      keepalive_requests        = 1000
      keepalive_time            = "1h"
      keepalive_disable         = ["msie6"]
      lingering_close           = "on"
      lingering_time            = "30s"
      lingering_timeout         = "5s"
      reset_timedout_connection = false
      client_body_timeout       = "60s"
      send_timeout              = "60s"
      client_max_body_size      = "1m"
      client_body_buffer_size   = "8k"
      chunked_transfer_encoding = true
      server_tokens             = "on"
      msie_padding              = true
      absolute_redirect         = true
      server_name_in_redirect   = false
      port_in_redirect          = true
      default_type              = "text/plain"
      types = {
        gif  = "image/gif"
        html = "text/html"
        jpg  = "image/jpeg"
      }
      etag  = true
      root  = "html"
      index = ["index.html"]
      # from testdata/scenarios/box1-frontend.conf:18:13
      # settings from proxy_http_version testdata/scenarios/box1-frontend.conf:15:13, proxy_set_header testdata/scenarios/box1-frontend.conf:16:13; the others are nginx 1.22 defaults
      proxy {
        pass         = "http://box2"
        http_version = "1.1"
        # from testdata/scenarios/box1-frontend.conf:16:13
        set_header "Connection" {
          value = ""
        }
        # from testdata/scenarios/box1-frontend.conf:17:13
        set_header "Host" {
          value = "$host"
        }
        pass_request_headers  = true
        pass_request_body     = true
        next_upstream         = ["error", "timeout"]
        next_upstream_timeout = "0"
        connect_timeout       = "60s"
        read_timeout          = "60s"
        send_timeout          = "60s"
        buffering             = true
        buffer_size           = "4k"
        max_buffered          = "1m"
        request_buffering     = true
        intercept_errors      = false
        ignore_client_abort   = false
        # nginx default: proxy_redirect default for the proxy_pass at testdata/scenarios/box1-frontend.conf:18:13
        redirect {
          from = "http://box2/"
          to   = "/"
        }
      }
    }
  }
  # from testdata/scenarios/box1-frontend.conf:6:5
  upstream "box2" {
    # from testdata/scenarios/box1-frontend.conf:7:9
    server "127.0.0.1:18081" {
      weight       = 1
      max_fails    = 1
      fail_timeout = "10s"
    }
    # nginx default: weighted round robin
    balancer {
      method = "round_robin"
    }
    # from testdata/scenarios/box1-frontend.conf:8:9
    keepalive {
      connections = 512
      local       = false
      enabled     = true
    }
    keepalive_timeout  = "60s"
    keepalive_requests = 1000
    keepalive_time     = "1h"
  }
}

# from testdata/scenarios/box2-backend.conf (nginx 1.22)
instance "box2-backend" {
  version            = "1.22"
  server_software    = "nginx/1.22"
  worker_processes   = 2
  worker_connections = 4096
  # from testdata/scenarios/box2-backend.conf:9:5
  server {
    # from testdata/scenarios/box2-backend.conf:10:9
    listen {
      address = "*:18081"
      backlog = 511
    }
    server_names                       = [""]
    client_header_timeout              = "60s"
    client_header_buffer_size          = "1k"
    large_client_header_buffers_number = 4
    large_client_header_buffers_size   = "8k"
    ignore_invalid_headers             = true
    underscores_in_headers             = false
    merge_slashes                      = true
    # settings before a location is chosen and when none matches (server at testdata/scenarios/box2-backend.conf:9:5)
    # settings from keepalive_timeout testdata/scenarios/box2-backend.conf:6:5, keepalive_requests testdata/scenarios/box2-backend.conf:7:5; the others are nginx 1.22 defaults
    unmatched {
      keepalive_timeout         = "86400s"
      keepalive_requests        = 10485760
      keepalive_time            = "1h"
      keepalive_disable         = ["msie6"]
      lingering_close           = "on"
      lingering_time            = "30s"
      lingering_timeout         = "5s"
      reset_timedout_connection = false
      client_body_timeout       = "60s"
      send_timeout              = "60s"
      client_max_body_size      = "1m"
      client_body_buffer_size   = "8k"
      chunked_transfer_encoding = true
      server_tokens             = "on"
      msie_padding              = true
      absolute_redirect         = true
      server_name_in_redirect   = false
      port_in_redirect          = true
      default_type              = "text/plain"
      types = {
        gif  = "image/gif"
        html = "text/html"
        jpg  = "image/jpeg"
      }
      etag  = true
      root  = "html"
      index = ["index.html"]
    }
    # from testdata/scenarios/box2-backend.conf:12:9
    # settings from keepalive_timeout testdata/scenarios/box2-backend.conf:6:5, keepalive_requests testdata/scenarios/box2-backend.conf:7:5; the others are nginx 1.22 defaults
    location {
      match                     = "prefix"
      path                      = "/"
      keepalive_timeout         = "86400s"
      keepalive_requests        = 10485760
      keepalive_time            = "1h"
      keepalive_disable         = ["msie6"]
      lingering_close           = "on"
      lingering_time            = "30s"
      lingering_timeout         = "5s"
      reset_timedout_connection = false
      client_body_timeout       = "60s"
      send_timeout              = "60s"
      client_max_body_size      = "1m"
      client_body_buffer_size   = "8k"
      chunked_transfer_encoding = true
      server_tokens             = "on"
      msie_padding              = true
      absolute_redirect         = true
      server_name_in_redirect   = false
      port_in_redirect          = true
      default_type              = "text/plain"
      types = {
        gif  = "image/gif"
        html = "text/html"
        jpg  = "image/jpeg"
      }
      etag  = true
      root  = "html"
      index = ["index.html"]
      # from testdata/scenarios/box2-backend.conf:13:13
      return {
        code = 200
        text = "hello from box2\n"
      }
    }
    # from testdata/scenarios/box2-backend.conf:16:9
    # settings from keepalive_timeout testdata/scenarios/box2-backend.conf:6:5, keepalive_requests testdata/scenarios/box2-backend.conf:7:5, client_max_body_size testdata/scenarios/box2-backend.conf:17:13; the others are nginx 1.22 defaults
    location {
      match                     = "exact"
      path                      = "/too-big"
      keepalive_timeout         = "86400s"
      keepalive_requests        = 10485760
      keepalive_time            = "1h"
      keepalive_disable         = ["msie6"]
      lingering_close           = "on"
      lingering_time            = "30s"
      lingering_timeout         = "5s"
      reset_timedout_connection = false
      client_body_timeout       = "60s"
      send_timeout              = "60s"
      client_max_body_size      = "1k"
      client_body_buffer_size   = "8k"
      chunked_transfer_encoding = true
      server_tokens             = "on"
      msie_padding              = true
      absolute_redirect         = true
      server_name_in_redirect   = false
      port_in_redirect          = true
      default_type              = "text/plain"
      types = {
        gif  = "image/gif"
        html = "text/html"
        jpg  = "image/jpeg"
      }
      etag  = true
      root  = "html"
      index = ["index.html"]
      # from testdata/scenarios/box2-backend.conf:18:13
      return {
        code = 200
        text = "accepted\n"
      }
    }
  }
}
