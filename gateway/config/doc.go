// Package config is Sealpost's one typed configuration. Every field is
// documented with its default; [Load] reads a YAML file, fills the defaults
// and validates, naming the field of every problem it finds.
//
// # Example
//
//	hostname: relay.example.org
//	relay:
//	  smtp_listen: 127.0.0.1:2525
//	  allow_networks: [10.0.0.0/8]
//	vault:
//	  address: https://vault.example.org:8200
//	  token_file: /run/vault-agent/token
//	next_hop:
//	  addr: smtp.example.org:25
//
// See docs/config.md for the full reference.
package config
