# Hand-written runtime model of testdata/scenarios/box2-backend.conf until
# runtime/translate exists. Settings nginx inherits from the http block are
# written into every location (the runtime does no inheritance); everything
# else keeps nginx 1.22.1's defaults.
instance "box2" {
  version            = "1.22.1"
  worker_processes   = 2
  worker_connections = 4096

  server {
    listen {
      address = "*:18081"
    }
    server_names = [""]

    unmatched {
      keepalive_timeout  = "86400s"
      keepalive_requests = 10485760
    }

    location {
      match              = "prefix"
      path               = "/"
      keepalive_timeout  = "86400s"
      keepalive_requests = 10485760
      return {
        code = 200
        text = "hello from box2\n"
      }
    }

    location {
      match                = "exact"
      path                 = "/too-big"
      keepalive_timeout    = "86400s"
      keepalive_requests   = 10485760
      client_max_body_size = "1k"
      return {
        code = 200
        text = "accepted\n"
      }
    }
  }
}
