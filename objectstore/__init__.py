"""Object storage (S3 through boto3), one way for the whole project: where it is (`settings`),
the client (`client`), and a bucket with the background workers' retry policy (`store`).

A leaf like telemetry: it imports nothing of Parley, and every layer that touches S3 (the
media uploads and processor, the archive writer and its readers, the analysts' engine, the
local platform) takes its settings and its client from here, so that one environment
configures them all and one client configuration (SigV4, checksums only where S3 requires
them) works against s3proxy, MinIO and AWS alike.
"""
