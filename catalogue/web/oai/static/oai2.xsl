<?xml version="1.0" encoding="UTF-8"?>
<!-- Renders OAI-PMH responses as HTML in a browser; harvesters ignore it. -->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:oai="http://www.openarchives.org/OAI/2.0/"
    exclude-result-prefixes="oai">
  <xsl:output method="html" encoding="UTF-8"/>

  <xsl:template match="/oai:OAI-PMH">
    <xsl:variable name="base" select="oai:request"/>
    <html lang="en">
      <head>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title>OAI-PMH <xsl:value-of select="oai:request/@verb"/></title>
        <style>
          body { font-family: system-ui, sans-serif; margin: 0 auto; padding: 1rem;
                 max-width: 72rem; color: #1b1f24; line-height: 1.45; }
          a { color: #0b57a4; }
          .scroll { overflow-x: auto; }
          table { border-collapse: collapse; margin: 0.5em 0 1.5em; width: 100%; }
          td, th { border: 1px solid #c8ced6; padding: 0.25em 0.6em; text-align: left;
                   vertical-align: top; overflow-wrap: anywhere; }
          .error { color: #a1131b; }
          nav { display: flex; flex-wrap: wrap; gap: 0.4em 1em; margin: 0.5em 0; }
          .note { color: #4a525c; font-size: 0.9rem; }
          @media (max-width: 40rem) {
            table, tbody, tr, td, th { display: block; width: 100%; }
            tr { border-bottom: 2px solid #c8ced6; margin-bottom: 0.5em; }
            tr:not(:has(td)) { display: none; }
            td, th { border: none; padding: 0.15em 0; }
          }
        </style>
      </head>
      <body>
        <header>
        <p class="note"><a href="/">Catalogue home</a> · <a href="/search">Search records</a></p>
        <h1>OAI-PMH <xsl:value-of select="oai:request/@verb"/></h1>
        <p class="note">This is the catalogue's OAI-PMH 2.0 provider as a web page; harvesters
          get the same response as OAI-PMH XML.</p>
        </header>
        <nav aria-label="OAI-PMH verbs">
          <a href="?verb=Identify">Identify</a>
          <a href="?verb=ListMetadataFormats">ListMetadataFormats</a>
          <a href="?verb=ListSets">ListSets</a>
          <a href="?verb=ListIdentifiers&amp;metadataPrefix=oai_dc">ListIdentifiers</a>
          <a href="?verb=ListRecords&amp;metadataPrefix=oai_dc">ListRecords</a>
        </nav>
        <p>Response date <xsl:value-of select="oai:responseDate"/>,
           request to <code><xsl:value-of select="$base"/></code></p>
        <main>
        <xsl:apply-templates select="oai:error"/>
        <xsl:apply-templates select="oai:Identify | oai:ListMetadataFormats | oai:ListSets
            | oai:ListIdentifiers | oai:ListRecords | oai:GetRecord"/>
        </main>
      </body>
    </html>
  </xsl:template>

  <xsl:template match="oai:error">
    <p class="error"><b><xsl:value-of select="@code"/></b>: <xsl:value-of select="."/></p>
  </xsl:template>

  <xsl:template match="oai:Identify">
    <div class="scroll"><table>
      <xsl:for-each select="*[not(self::oai:description)]">
        <tr><th><xsl:value-of select="local-name()"/></th><td><xsl:value-of select="."/></td></tr>
      </xsl:for-each>
    </table></div>
  </xsl:template>

  <xsl:template match="oai:ListMetadataFormats">
    <div class="scroll"><table>
      <tr><th>prefix</th><th>schema</th><th>namespace</th></tr>
      <xsl:for-each select="oai:metadataFormat">
        <tr>
          <td><a href="?verb=ListRecords&amp;metadataPrefix={oai:metadataPrefix}">
            <xsl:value-of select="oai:metadataPrefix"/></a></td>
          <td><xsl:value-of select="oai:schema"/></td>
          <td><xsl:value-of select="oai:metadataNamespace"/></td>
        </tr>
      </xsl:for-each>
    </table></div>
  </xsl:template>

  <xsl:template match="oai:ListSets">
    <div class="scroll"><table>
      <tr><th>setSpec</th><th>setName</th></tr>
      <xsl:for-each select="oai:set">
        <tr>
          <td><a href="?verb=ListRecords&amp;metadataPrefix=oai_dc&amp;set={oai:setSpec}">
            <xsl:value-of select="oai:setSpec"/></a></td>
          <td><xsl:value-of select="oai:setName"/></td>
        </tr>
      </xsl:for-each>
    </table></div>
  </xsl:template>

  <xsl:template match="oai:ListIdentifiers | oai:ListRecords | oai:GetRecord">
    <div class="scroll"><table>
      <tr><th>identifier</th><th>datestamp</th><th>sets</th><th>metadata</th></tr>
      <xsl:for-each select="oai:header | oai:record">
        <xsl:variable name="h" select="self::oai:header | oai:header"/>
        <tr>
          <td>
            <a href="?verb=GetRecord&amp;metadataPrefix=oai_dc&amp;identifier={$h/oai:identifier}">
              <xsl:value-of select="$h/oai:identifier"/></a>
            <xsl:if test="$h/@status = 'deleted'"> (deleted)</xsl:if>
            <xsl:text> </xsl:text>
            <a href="/records/{substring-after(substring-after($h/oai:identifier, 'oai:'), ':')}">page</a>
          </td>
          <td><xsl:value-of select="$h/oai:datestamp"/></td>
          <td><xsl:for-each select="$h/oai:setSpec">
            <xsl:value-of select="."/><br/></xsl:for-each></td>
          <td><xsl:for-each select="oai:metadata/*//*[normalize-space(text())]">
            <b><xsl:value-of select="local-name()"/></b>: <xsl:value-of select="."/><br/>
          </xsl:for-each></td>
        </tr>
      </xsl:for-each>
    </table></div>
    <xsl:variable name="token" select="oai:resumptionToken"/>
    <xsl:if test="$token">
      <p>
        Records <xsl:value-of select="$token/@cursor + 1"/> to
        <xsl:value-of select="$token/@cursor + count(oai:header | oai:record)"/> of
        <xsl:value-of select="$token/@completeListSize"/>.
        <xsl:if test="normalize-space($token)">
          <a href="?verb={../oai:request/@verb}&amp;resumptionToken={$token}">next page</a>
        </xsl:if>
      </p>
    </xsl:if>
  </xsl:template>
</xsl:stylesheet>
