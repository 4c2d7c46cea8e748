/**
 * A small S3 client for what the operator and its commands do with a bucket: list a prefix, read, write and delete
 * objects. Requests are signed (AWS Signature Version 4) by aws4fetch, listings parsed by fast-xml-parser; keys
 * are addressed path-style (`<endpoint>/<bucket>/<key>`), which every S3-compatible server accepts.
 *
 * @module
 */
import { AwsClient } from "aws4fetch";
import { XMLParser } from "fast-xml-parser";
import type { StoredObject } from "./catalog.ts";

/** Where a bucket is and how to sign for it. */
export interface S3Location {
  /** `https://host[:port]` or `http://…` (a server of one's own). */
  endpoint: string;
  bucket: string;
  region?: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** An S3 request that failed: the status and the server's error code (`NoSuchKey`, `AccessDenied`, …). */
export class S3Error extends Error {
  /** HTTP status. */
  readonly status: number;
  /** The `<Code>` of the error document, when there is one. */
  readonly code: string;

  /** Builds the error from the response's status and body. */
  constructor(what: string, status: number, code: string, message: string) {
    super(`${what}: ${status}${code ? ` ${code}` : ""}${message ? `: ${message}` : ""}`);
    this.name = "S3Error";
    this.status = status;
    this.code = code;
  }
}

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  isArray: (n) => n === "Contents" || n === "Upload",
});

/** A multipart upload begun and neither completed nor aborted (an upload killed mid-stream leaves one). */
export interface PendingUpload {
  key: string;
  uploadId: string;
  initiated: Date;
}

/** Path-style URL of a key (each segment percent-encoded, slashes kept). */
export function objectUrl(loc: Pick<S3Location, "endpoint" | "bucket">, key = ""): URL {
  const base = loc.endpoint.replace(/\/+$/, "");
  const path = key.split("/").map(encodeURIComponent).join("/");
  return new URL(`${base}/${encodeURIComponent(loc.bucket)}${key === "" ? "" : `/${path}`}`);
}

/** One page of a ListObjectsV2 answer (pure). */
export function parseListing(xml: string): { objects: StoredObject[]; next?: string } {
  const doc = parser.parse(xml)?.ListBucketResult;
  if (!doc) throw new S3Error("list", 200, "", "the answer is not a ListBucketResult");
  const objects = (doc.Contents ?? []).map((c: Record<string, string>) => ({
    key: String(c.Key),
    size: Number(c.Size),
    lastModified: new Date(String(c.LastModified)),
  }));
  const truncated = String(doc.IsTruncated) === "true";
  return { objects, next: truncated ? String(doc.NextContinuationToken ?? "") || undefined : undefined };
}

/** The uploads of a ListMultipartUploads answer, and the markers of the next page when truncated (pure). */
export function parseUploads(
  xml: string,
): { uploads: PendingUpload[]; next?: { key: string; uploadId: string } } {
  const doc = parser.parse(xml)?.ListMultipartUploadsResult;
  if (!doc) throw new S3Error("list uploads", 200, "", "the answer is not a ListMultipartUploadsResult");
  const uploads = (doc.Upload ?? []).map((u: Record<string, string>) => ({
    key: String(u.Key),
    uploadId: String(u.UploadId),
    initiated: new Date(String(u.Initiated)),
  }));
  const truncated = String(doc.IsTruncated) === "true";
  return {
    uploads,
    next: truncated
      ? { key: String(doc.NextKeyMarker ?? ""), uploadId: String(doc.NextUploadIdMarker ?? "") }
      : undefined,
  };
}

/** A bucket, through a signing client. */
export class S3Bucket {
  readonly #aws: AwsClient;
  readonly #loc: S3Location;

  /** A client for `loc`; nothing is sent until a method is called. */
  constructor(loc: S3Location) {
    this.#loc = loc;
    this.#aws = new AwsClient({
      accessKeyId: loc.accessKeyId,
      secretAccessKey: loc.secretAccessKey,
      region: loc.region || "us-east-1",
      service: "s3",
      retries: 0,
    });
  }

  async #send(what: string, url: URL, init: RequestInit = {}, ok404 = false): Promise<Response | undefined> {
    const res = await this.#aws.fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(60_000) });
    if (res.ok) return res;
    const body = await res.text().catch(() => "");
    if (ok404 && res.status === 404) return undefined;
    const err = body ? parser.parse(body)?.Error : undefined;
    throw new S3Error(what, res.status, String(err?.Code ?? ""), String(err?.Message ?? "").slice(0, 200));
  }

  /** Every object under `prefix`, all pages. */
  async list(prefix: string): Promise<StoredObject[]> {
    const out: StoredObject[] = [];
    let token: string | undefined;
    for (let page = 0; page < 10_000; page++) {
      const url = objectUrl(this.#loc);
      url.searchParams.set("list-type", "2");
      url.searchParams.set("prefix", prefix);
      if (token) url.searchParams.set("continuation-token", token);
      const res = await this.#send(`list ${prefix}`, url);
      const { objects, next } = parseListing(await res!.text());
      out.push(...objects);
      if (!next) return out;
      token = next;
    }
    throw new S3Error(`list ${prefix}`, 200, "", "more than 10000 pages");
  }

  /** Multipart uploads under `prefix` that were begun and never completed or aborted. */
  async pendingUploads(prefix: string): Promise<PendingUpload[]> {
    const out: PendingUpload[] = [];
    let marker: { key: string; uploadId: string } | undefined;
    for (let page = 0; page < 1_000; page++) {
      const url = objectUrl(this.#loc);
      url.searchParams.set("uploads", "");
      url.searchParams.set("prefix", prefix);
      if (marker) {
        url.searchParams.set("key-marker", marker.key);
        url.searchParams.set("upload-id-marker", marker.uploadId);
      }
      const res = await this.#send(`list uploads ${prefix}`, url);
      const { uploads, next } = parseUploads(await res!.text());
      out.push(...uploads);
      if (!next) return out;
      marker = next;
    }
    throw new S3Error(`list uploads ${prefix}`, 200, "", "more than 1000 pages");
  }

  /** Aborts a multipart upload (its parts are freed); one already gone succeeds. */
  async abortUpload(key: string, uploadId: string): Promise<void> {
    const url = objectUrl(this.#loc, key);
    url.searchParams.set("uploadId", uploadId);
    const res = await this.#send(`abort upload ${key}`, url, { method: "DELETE" }, true);
    await res?.body?.cancel();
  }

  /** The object's text, or undefined when there is none. */
  async getText(key: string): Promise<string | undefined> {
    const res = await this.#send(`get ${key}`, objectUrl(this.#loc, key), {}, true);
    return res ? await res.text() : undefined;
  }

  /** Writes the object whole (a reader never sees part of it: S3 publishes an object when its upload ends). */
  async put(key: string, body: string | Uint8Array<ArrayBuffer>): Promise<void> {
    const res = await this.#send(`put ${key}`, objectUrl(this.#loc, key), { method: "PUT", body });
    await res!.body?.cancel();
  }

  /** Deletes the object; deleting one that is not there succeeds (S3's own rule). */
  async delete(key: string): Promise<void> {
    const res = await this.#send(`delete ${key}`, objectUrl(this.#loc, key), { method: "DELETE" }, true);
    await res?.body?.cancel();
  }
}
