instance "edge" {
  version                 = "1.22.1"
  worker_processes        = 2
  worker_connections      = 4096
  worker_shutdown_timeout = "10s"

  upstream "app" {
    server "127.0.0.1:9000" {
      weight = 2
    }
    keepalive {
      connections = 16
      enabled     = true
    }
  }

  server {
    listen {
      address        = "127.0.0.1:8080"
      default_server = true
      backlog        = 128
    }
    listen {
      address = "*:8081"
    }
    server_names = ["example.com", "*.example.com", "~^api\\d+\\."]

    client_header_timeout              = "10s"
    large_client_header_buffers_number = 2
    large_client_header_buffers_size   = "2k"

    unmatched {
      keepalive_timeout = "30s"
    }

    location {
      match                    = "prefix"
      path                     = "/"
      keepalive_timeout        = "86400s"
      keepalive_header_timeout = "60"
      keepalive_requests       = 10485760
      keepalive_disable        = ["none"]
      types                    = { html = "text/html", css = "text/css" }
      root                     = "/srv/www"
      index                    = ["index.html", "index.htm"]

      add_header {
        name   = "X-A"
        value  = "1"
        always = true
      }
      error_page {
        codes         = [500, 502]
        uri           = "/50x.html"
        response_code = 0
      }

      location {
        match = "regex"
        path  = "\\.php$"
        return {
          code = 404
        }
      }
    }

    location {
      match = "prefix_noregex"
      path  = "/api/"
      proxy {
        pass         = "http://app"
        http_version = "1.1"
        set_header "Connection" {
          value = ""
        }
      }
    }

    location {
      match                = "exact"
      path                 = "/too-big"
      client_max_body_size = "1k"
      return {
        code = 200
        text = "accepted\n"
      }
    }
  }
}
