/**
 * What an archive id (a conflict's, a rejection's) and a listing cursor made of one may look like.
 * Text outside it names nothing and is answered without a query.
 */
export const archiveIdPattern = /^[A-Za-z0-9_.-]{1,128}$/;
