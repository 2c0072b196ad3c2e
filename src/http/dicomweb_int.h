/*
 * dicomweb_int.h - the DICOMweb (PS3.18) handlers, split by service:
 *   dicomweb.c  route table, STOW-RS, QIDO-RS, DELETE, shared helpers
 *   wado.c      WADO-RS (instances, metadata, frames, rendered, thumbnail,
 *               bulkdata) and WADO-URI
 * Private to src/http/.
 *
 * URL layout under /dicom-web (PS3.18 10.4-10.7):
 *   /studies[/{s}[/series[/{se}[/instances[/{i}]]]]]     GET: QIDO or WADO
 *   .../metadata, .../frames/{list}, .../rendered, .../thumbnail,
 *   .../bulkdata/{*}                                      GET: WADO-RS
 *   POST /studies[/{s}]                                   STOW-RS
 *   DELETE /studies/{s}[/series/{se}[/instances/{i}]]     delete
 *   GET /wado?requestType=WADO&...                        WADO-URI (PS3.18 9)
 */
#ifndef PACSD_HTTP_DICOMWEB_INT_H
#define PACSD_HTTP_DICOMWEB_INT_H

#include "http/http_int.h"

/* The DICOMweb root every URL of dicomweb_routes starts with. */
#define DICOMWEB_ROOT "/dicom-web"

/* Whether `s` is a syntactically valid UID (PS3.5 9.1: 1-64 characters,
 * digits and dots, no empty component, no leading zero in a component). */
bool dw_uid_valid(const char *s);

/* Answers 400 {"error": "Invalid ... UID"} when one of the request's UID
 * captures is not a valid UID; returns false then. */
bool dw_check_uids(struct http_req *req, size_t n_uids);

/* ---- WADO-RS and WADO-URI (wado.c) --------------------------------------
 * req->params hold the UIDs of the URL in order (study, series, instance),
 * then the frame list or bulkdata path where the route has one. */
void wado_retrieve(struct http_req *req);   /* study, series or instance */
void wado_metadata(struct http_req *req);   /* .../metadata at any level */
void wado_frames(struct http_req *req);     /* .../frames/{list} */
void wado_rendered(struct http_req *req);   /* .../rendered (instance or
                                               frame: .../frames/{n}/rendered) */
void wado_thumbnail(struct http_req *req);  /* .../thumbnail at any level */
void wado_bulkdata(struct http_req *req);   /* .../bulkdata/{*} */
void wado_uri(struct http_req *req);        /* GET /wado */

#endif
