# Three home regions hold the 3 raft voters; two more regions replicate and
# serve without voting. Secrets are not here: export TF_VAR_operator_token,
# TF_VAR_cluster_secret, TF_VAR_edge_secret, TF_VAR_gossip_key (and
# TF_VAR_cloudflare_api_token) from your secret store.
image = "registry.example.com/statusedge:1.4.0"

regions = [
  { name = "eu-west", kube_context = "gke-eu-west", role = "voter", geo = ["WEU", "EEU"] },
  { name = "us-east", kube_context = "eks-us-east", role = "voter", geo = ["ENAM"] },
  { name = "ap-south", kube_context = "gke-ap-south", role = "voter", geo = ["SAS", "SEAS"] },
  { name = "us-west", kube_context = "eks-us-west", role = "non-voter", origin_replicas = 2, geo = ["WNAM"] },
  { name = "sa-east", kube_context = "gke-sa-east", role = "non-voter", geo = ["NSAM", "SSAM", "OC"] },
]

# Cloudflare's published ranges, as the edges see visitors through its proxy
# (https://www.cloudflare.com/ips/; keep the list current).
trusted_proxies = ["173.245.48.0/20", "103.21.244.0/22", "141.101.64.0/18", "108.162.192.0/18", "190.93.240.0/20", "188.114.96.0/20", "197.234.240.0/22", "198.41.128.0/17", "162.158.0.0/15", "104.16.0.0/13", "104.24.0.0/14", "172.64.0.0/13", "131.0.72.0/22"]

dns = {
  zone_id  = "0123456789abcdef0123456789abcdef"
  hostname = "status.example.com"
}
